"""``python -m gentrade.exchange_sim --port 8900 --pairs BTC/USDT,ETH/USDT``."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime

from gentrade.exchange_sim.server import ExchangeSimulator, SimulatorConfig


def _pair_dates(values: list[str]) -> dict[str, datetime]:
    """``BTC/USDT=2024-01-01`` items -> {pair: datetime}."""
    result = {}
    for item in values:
        pair, _, day = item.partition("=")
        result[pair] = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Binance stand-in serving SYNTHETIC candles.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--pairs", default="BTC/USDT,ETH/USDT", help="comma-separated pairs to list")
    parser.add_argument("--listed", action="append", default=[], metavar="PAIR=DATE", help="list PAIR from DATE")
    parser.add_argument("--fail", action="append", default=[], metavar="PAIR", help="answer HTTP 500 for PAIR")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = SimulatorConfig(
        pairs=tuple(p.strip() for p in args.pairs.split(",") if p.strip()),
        listed=_pair_dates(args.listed),
        failing=set(args.fail),
    )
    simulator = ExchangeSimulator(config, args.host, args.port)
    logging.getLogger("gentrade.exchange_sim").info(
        "serving SYNTHETIC market data for %s at %s", ", ".join(config.pairs), simulator.api_url
    )
    try:
        simulator.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.server.server_close()


if __name__ == "__main__":
    main()
