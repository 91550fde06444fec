"""Generated corpora in the exact FVC layout (``fvc synth``), for the demo and for tests.

Real videos are simulated camera footage of scikit-image's photographs; fakes
share the same scenes and formats and differ only by a manipulation's traces.
"""

from .build import DEFAULT_PASSWORD, DEFAULT_VIDEOS, BuildResult, build, build_corpus, resolve_password
from .corpus import SizeOptions, plan_corpus
from .manipulations import MANIPULATIONS

__all__ = ["DEFAULT_PASSWORD", "DEFAULT_VIDEOS", "BuildResult", "build", "build_corpus", "resolve_password",
           "SizeOptions", "plan_corpus", "MANIPULATIONS"]
