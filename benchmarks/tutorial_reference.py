"""The tutorial's training loop as the original post wrote it, to measure against (not used by the project).

Kept deliberately unimproved: torchvision DataLoader with ToTensor + Normalize per sample, two D
passes, backprop into G during the D step, `.item()` prints every 200 steps, `save_image` every
epoch, last-batch scores. Its two undefined helpers are defined as in the tutorial it cites
(yunjey/pytorch-tutorial, generative_adversarial_network/main.py).

    python benchmarks/tutorial_reference.py --data-dir ../shared/data --epochs 1
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch
import torch.nn as nn
import torchvision.datasets as dsets
import torchvision.transforms as transforms
from torchvision.utils import save_image


def run_tutorial_loop(data_dir: str, num_epochs: int, device: str, subset: int | None = None,
                  sample_dir: str | None = None, log=print) -> list[float]:
    """Run the tutorial's loop for `num_epochs`; return the seconds of each epoch."""
    sample_dir = sample_dir or tempfile.mkdtemp(prefix="tutorial-samples-")
    latent_size, hidden_size, image_size, batch_size = 64, 256, 784, 100

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean=[0.5], std=[0.5])])
    mnist_train = dsets.MNIST(root=data_dir, train=True, transform=transform, download=False)
    if subset is not None:
        mnist_train = torch.utils.data.Subset(mnist_train, range(subset))
    # drop_last: the seed reshapes to batch_size and would crash on a partial batch (60000 % 100 == 0)
    data_loader = torch.utils.data.DataLoader(dataset=mnist_train, batch_size=batch_size, shuffle=True, drop_last=True)

    D = nn.Sequential(nn.Linear(image_size, hidden_size), nn.LeakyReLU(0.2), nn.Linear(hidden_size, hidden_size),
                      nn.LeakyReLU(0.2), nn.Linear(hidden_size, 1), nn.Sigmoid()).to(device)
    G = nn.Sequential(nn.Linear(latent_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, hidden_size),
                      nn.ReLU(), nn.Linear(hidden_size, image_size), nn.Tanh()).to(device)
    criterion = nn.BCELoss()
    d_optimizer = torch.optim.Adam(D.parameters(), lr=0.0002)
    g_optimizer = torch.optim.Adam(G.parameters(), lr=0.0002)

    def denorm(x):
        out = (x + 1) / 2
        return out.clamp(0, 1)

    def reset_grad():
        d_optimizer.zero_grad()
        g_optimizer.zero_grad()

    epoch_seconds = []
    total_step = len(data_loader)
    for epoch in range(num_epochs):
        start = time.perf_counter()
        for i, (images, _) in enumerate(data_loader):
            images = images.reshape(batch_size, -1).to(device)
            real_labels = torch.ones(batch_size, 1).to(device)
            fake_labels = torch.zeros(batch_size, 1).to(device)

            outputs = D(images)
            d_loss_real = criterion(outputs, real_labels)
            real_score = outputs
            z = torch.randn(batch_size, latent_size).to(device)
            fake_images = G(z)
            outputs = D(fake_images)
            d_loss_fake = criterion(outputs, fake_labels)
            fake_score = outputs
            d_loss = d_loss_real + d_loss_fake
            reset_grad()
            d_loss.backward()
            d_optimizer.step()

            z = torch.randn(batch_size, latent_size).to(device)
            fake_images = G(z)
            outputs = D(fake_images)
            g_loss = criterion(outputs, real_labels)
            reset_grad()
            g_loss.backward()
            g_optimizer.step()

            if (i + 1) % 200 == 0:
                log('Epoch [{}/{}], Step [{}/{}], d_loss: {:.4f}, g_loss: {:.4f}, D(x): {:.2f}, D(G(z)): {:.2f}'
                    .format(epoch, num_epochs, i + 1, total_step, d_loss.item(), g_loss.item(),
                            real_score.mean().item(), fake_score.mean().item()))
        real_score.mean().item(), fake_score.mean().item()  # the seed's per-epoch score read
        if (epoch + 1) == 1:
            images = images.reshape(images.size(0), 1, 28, 28)
            save_image(denorm(images), os.path.join(sample_dir, 'real_images.png'))
        fake_images = fake_images.reshape(fake_images.size(0), 1, 28, 28)
        save_image(denorm(fake_images), os.path.join(sample_dir, 'fake_images-{}.png'.format(epoch + 1)))
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        epoch_seconds.append(time.perf_counter() - start)
    return epoch_seconds


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--subset", type=int, default=None)
    args = parser.parse_args()
    seconds = run_tutorial_loop(args.data_dir, args.epochs, args.device, args.subset)
    print("seconds per epoch:", ", ".join(f"{s:.2f}" for s in seconds))
