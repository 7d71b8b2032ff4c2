"""Strategy drafts and their code: catalogue, draft model, compiler, review, Freqtrade check."""
