"""`python -m keras_defaults ...`: the same command line as the `keras-defaults` script."""

from keras_defaults.cli import main

raise SystemExit(main())
