"""The rights of the people whose data the assistant keeps (GDPR art. 15 and 17).

service.py    find / export / erase everything stored about one person
web.py        the DPO's page /console/admin/privacy (admin role)
__main__.py   python -m integrations.privacy find|export|erase
register.py   the register of processings of ``data/privacy.yml`` (purpose, legal
              basis, data, recipients, retention filled from the settings)
"""

from __future__ import annotations

from aiohttp.web import Application

from integrations.privacy.web import setup_routes


def setup(app: Application) -> None:
    """Register this area's routes (the DPO's page) on the gateway app."""
    setup_routes(app)
