"""FVC data: metadata CSVs, archives, the video index, folds, generated corpora."""
