"""The HTTP edge: error translation and sessions (:mod:`issuer.web.edge`), the staff API,
the public pages and documents, and the staff console."""
