"""Video I/O with PyAV: streamed reading, frame sampling, writing."""
