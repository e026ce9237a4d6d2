"""What the Space computes, without any UI: samples, films, digits, nearest images, live runs."""
