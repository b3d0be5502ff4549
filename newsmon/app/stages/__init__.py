"""The pipeline stages the Airflow DAGs and the CLI both call: plan → poll → index → alert, and the digests."""
