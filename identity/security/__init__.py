"""What protects secrets and sign-in: hashing PINs and passwords (``passwords``), keys derived
from ``HUB_SECRET_KEY`` per purpose (``derived_keys``), and the PIN guessing limits
(``guessing_limits``)."""
