"""cvseq_localizer: cross-view sequential localisation of a vehicle against satellite imagery.

The core (everything but ``ros/`` and ``tools/``) is free of ROS.
"""

__version__ = '0.1.0'
