"""The application: the pipeline stages the DAGs and the CLI call, maintenance, the command line and the demo."""
