"""newsmon: an Airflow-driven news-monitoring pipeline for Lithuania–Belarus relations."""

__version__ = "0.1.0"
