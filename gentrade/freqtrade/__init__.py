"""Everything that touches Freqtrade: user directories, market data, runners, results."""
