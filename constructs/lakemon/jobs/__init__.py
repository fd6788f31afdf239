"""Serverless Databricks jobs that run the lakemon wheel: training and monitoring pipelines."""

from .artifacts import JobArtifacts
from .pipelines import MonitoringPipeline, RetrainingPipeline, TrainingPipeline
from .wheel_job import ENVIRONMENT_VERSION, WheelJob, WheelTask

__all__ = [
    "ENVIRONMENT_VERSION",
    "JobArtifacts",
    "MonitoringPipeline",
    "RetrainingPipeline",
    "TrainingPipeline",
    "WheelJob",
    "WheelTask",
]
