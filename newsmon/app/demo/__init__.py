"""The offline demo: its fixture articles, the loopback feed server and the local SMTP sink."""
