"""HTTP layer: one controller per screen. Handlers parse, authorise, call the domain, render."""

from handlers.auth import AuthController
from handlers.bookings import BookingsController

ROUTE_HANDLERS = [AuthController, BookingsController]
