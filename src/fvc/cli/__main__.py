"""``python -m fvc.cli``: what ``srun torchrun ... -m fvc.cli`` launches on each GPU."""

from . import main

main()
