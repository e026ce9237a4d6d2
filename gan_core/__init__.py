"""The seed tutorial's vanilla MNIST GAN, as a package: train it, save it, push it, sample it.

The package never imports gradio: app.py and train.py are thin shells over it.
"""
