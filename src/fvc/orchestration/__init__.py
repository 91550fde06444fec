"""Running the stage graph elsewhere: Ray tasks, an Airflow DAG, SLURM batch scripts.

Each is generated from (or plugs into) the declared graph of
:mod:`fvc.pipeline`; none lists stages by hand. Ray and Airflow are optional
extras: importing their modules without them is a one-line error naming the
extra to install.
"""
