"""The notebook facade: Lab, live DataFrame views and order-ticket widgets."""

from ntlab.lab.handles import OrderHandle
from ntlab.lab.session import Lab

__all__ = ["Lab", "OrderHandle"]
