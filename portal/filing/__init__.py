"""Filing: what an uploaded file really is (``sniff``) and its text (``extract``), judged
without trusting the file, its name or the browser."""
