# Airflow 3.3 with the followback package installed. No secret is baked in: docker-compose.yml
# passes them from .env at run time, and .dockerignore keeps .env, data/ and logs/ out of the
# build context. dags/, logs/ and data/ are volumes (see docker-compose.yml).
ARG AIRFLOW_VERSION=3.3.2
FROM apache/airflow:${AIRFLOW_VERSION}
ARG AIRFLOW_VERSION

USER root
RUN mkdir /opt/followback && chown airflow:0 /opt/followback
USER airflow

WORKDIR /opt/followback
COPY --chown=airflow:0 pyproject.toml README.md ./
COPY --chown=airflow:0 pipeline ./pipeline
COPY --chown=airflow:0 sql ./sql
COPY --chown=airflow:0 config ./config
# Editable, because pipeline finds sql/ and the default accounts file beside the package
# (pipeline.config.PROJECT_ROOT). Naming apache-airflow at the image's own version stops pip from
# replacing the image's Airflow while it resolves our dependencies.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" --editable .
WORKDIR /opt/airflow
