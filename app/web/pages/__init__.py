"""One module per page or group of pages; each lists its `PAGES`."""
