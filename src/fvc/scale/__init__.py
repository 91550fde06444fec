"""Stage 3: scale videos to one square size (letterbox or a VAE round trip)."""
