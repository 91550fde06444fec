"""FVC Detect: fake-video detection on the Fake Video Corpus and corpora like it."""

__version__ = "0.1.0"
