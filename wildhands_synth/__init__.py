"""Synthetic egocentric hand data: articulations (``poses``), scene sampling (``scene``), rendering
(``render``), dataset writing (``generate``), smooth sequences (``sequence``), the ``wildhands-synth``
command (``cli``)."""
