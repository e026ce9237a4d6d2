"""The vanilla MNIST GAN of a well-known PyTorch tutorial, as a package: train, save, push, sample.

The package never imports gradio: app.py and train.py are thin shells over it.
"""

import os
import sys

# huggingface_hub reads these as whole seconds when it is imported, and a stray "abc" or "1.5"
# stops every import of it with a traceback, local training included. A wrong one is reported
# once and huggingface_hub's default (10 s) used instead.
for _name in ("HF_HUB_DOWNLOAD_TIMEOUT", "HF_HUB_ETAG_TIMEOUT"):
    _text = os.environ.get(_name)
    if _text is not None and not _text.strip().isdecimal():
        print(f"warning: {_name}={_text[:40]!r} is not a whole number of seconds; using 10", file=sys.stderr)
        del os.environ[_name]
