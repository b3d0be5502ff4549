"""newsmon: an Airflow-driven news-monitoring pipeline for Lithuania–Belarus relations."""
