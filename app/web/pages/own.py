"""(to be written)"""

from app.web.view import Page

PAGES: list[Page] = []
