"""HTTP layer: one controller per screen. Handlers parse, authorise, call the domain, render."""

from handlers.auth import AccountController, AuthController
from handlers.bookings import BookingsController
from handlers.settings import SettingsController

ROUTE_HANDLERS = [AuthController, AccountController, BookingsController, SettingsController]
