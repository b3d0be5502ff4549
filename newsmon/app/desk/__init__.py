"""The desk: newsmon's search, stories, alerts and feed health in the browser, inside Airflow's UI."""
