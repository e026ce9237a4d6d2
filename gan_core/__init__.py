"""The vanilla MNIST GAN of a well-known PyTorch tutorial, as a package: train, save, push, sample.

The package never imports gradio and does nothing when imported: app.py and train.py are thin shells
over it. (The HF_HUB_*_TIMEOUT settings are mended by those entry points: gan_core/hub/timeouts.py.)
"""
