"""Architectures of the deep video models; the catalog (``fvc.models.video_zoo``) names and builds them."""
