"""One delivery end to end, and watching the inbox. Importing the package registers zip
deliveries (:mod:`station.inbox.members`) with the pipeline."""
from . import members  # noqa: F401
