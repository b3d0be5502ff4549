"""Imported only by the extraction pool's forkserver: set up the extraction libraries once, before any fork.

Every extraction worker is forked from that server, so each starts with trafilatura, htmldate, dateparser
and our modules imported and set up, instead of paying about a second for it on its first pages.
"""

from __future__ import annotations

from newsmon.app.stages.page_work import warm_up

warm_up()
