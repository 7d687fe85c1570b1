"""The rights of the people whose data the assistant keeps (GDPR art. 15 and 17).

service.py    find / export / erase everything stored about one person
web.py        the DPO's page /console/admin/privacy (admin role)
__main__.py   python -m integrations.privacy find|export|erase
register.py   the register of processings of ``data/privacy.yml`` (purpose, legal
              basis, data, recipients, retention filled from the settings)
"""
