"""lakemon: Databricks model serving and monitoring as code.

The public API (constructs, config, policy aspects) is re-exported here as it lands.
"""

__version__ = "0.1.0"
