"""The DICOM node: send results to a PACS, query and retrieve films from it, and listen for
films sent to us (pynetdicom). A thin adapter over the engine the window and the command
line call: it owns sockets, associations and retries, never a decision rule."""
