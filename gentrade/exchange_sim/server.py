"""The stand-in's HTTP server (stdlib ``ThreadingHTTPServer``: it serves a handful of clients)."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from gentrade.freqtrade.synthetic import synthetic_ohlcv
from gentrade.timeframes import TIMEFRAME_SECONDS

log = logging.getLogger(__name__)
DEFAULT_LISTED = datetime(2020, 1, 1, tzinfo=UTC)
KLINES_LIMIT = 1000
SYNTHETIC_HEADER = ("X-GenTrade-Data", "synthetic")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class SimulatorConfig:
    """What the stand-in lists and how it misbehaves. Times are UTC datetimes."""

    pairs: tuple[str, ...] = ("BTC/USDT", "ETH/USDT")
    listed: dict[str, datetime] = field(default_factory=dict)  # pair -> first candle (a late listing)
    delisted: dict[str, datetime] = field(default_factory=dict)  # pair -> no candles from then on
    gaps: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)  # pair -> [start, end)
    failing: set[str] = field(default_factory=set)  # pairs whose klines answer HTTP 500
    hang_seconds: float = 0.0  # every klines request sleeps this long first
    now: datetime | None = None  # fixed "now" (default: the real clock)

    def symbol_of(self, pair: str) -> str:
        return pair.replace("/", "")

    def current_ms(self) -> int:
        return _ms(self.now) if self.now else int(time.time() * 1000)


def _kline(row: Any, step_ms: int) -> list[Any]:
    """One candle in Binance's kline format (prices and volumes as strings)."""
    opened, open_, high, low, close, volume = row
    prices = [f"{value:.8f}" for value in (open_, high, low, close, volume)]
    quote_volume = close * volume
    return [int(opened), *prices, int(opened) + step_ms - 1, f"{quote_volume:.8f}", 100,
            f"{volume / 2:.8f}", f"{quote_volume / 2:.8f}", "0"]  # fmt: skip


class ExchangeSimulator:
    """Run the stand-in in a background thread: ``with ExchangeSimulator(config) as sim: sim.api_url``."""

    def __init__(self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or SimulatorConfig()
        self.requests: Counter[str] = Counter()  # "exchangeInfo", "klines", "klines:BTCUSDT", ...
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """What ccxt's ``urls.api.public`` must be set to."""
        return f"{self.base_url}/api/v3"

    def count(self, key: str) -> None:
        with self._lock:
            self.requests[key] += 1

    def start(self) -> ExchangeSimulator:
        self._thread = threading.Thread(target=self.server.serve_forever, name="exchange-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def restart(self) -> ExchangeSimulator:
        """Serve again on the same address after ``stop``: an outage (connections refused) ends."""
        self.server = ThreadingHTTPServer(self.server.server_address[:2], self._handler_class())
        self.server.daemon_threads = True
        return self.start()

    def __enter__(self) -> ExchangeSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- Binance's answers -------------------------------------------------------------------
    def exchange_info(self) -> dict[str, Any]:
        symbols = []
        for pair in self.config.pairs:
            base, quote = pair.split("/")
            price = float(synthetic_ohlcv(pair, "1d", self.config.current_ms() - 86_400_000, 1)[0, 4])
            tick = 10 ** (math.floor(math.log10(price)) - 5)
            symbols.append(
                {
                    "symbol": self.config.symbol_of(pair),
                    "status": "TRADING",
                    "baseAsset": base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
                    "icebergAllowed": True,
                    "ocoAllowed": True,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": f"{tick:.10f}",
                            "maxPrice": "10000000.0",
                            "tickSize": f"{tick:.10f}",
                        },
                        {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000000.0", "stepSize": "0.00001"},
                        {
                            "filterType": "NOTIONAL",
                            "minNotional": "5.0",
                            "applyMinToMarket": True,
                            "maxNotional": "9000000.0",
                        },
                    ],
                    "permissions": [],
                    "permissionSets": [["SPOT"]],
                    "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                    "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": self.config.current_ms(),
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": symbols,
            "gentrade": "Synthetic market data from the GenTrade exchange stand-in. Not real prices.",
        }

    def klines(self, query: dict[str, str]) -> tuple[int, Any]:
        pairs = {self.config.symbol_of(pair): pair for pair in self.config.pairs}
        pair = pairs.get(query.get("symbol", ""))
        interval = query.get("interval", "")
        if pair is None or interval not in TIMEFRAME_SECONDS:
            return HTTPStatus.BAD_REQUEST, {"code": -1121, "msg": "Invalid symbol or interval."}
        self.count(f"klines:{self.config.symbol_of(pair)}")
        if pair in self.config.failing:
            return HTTPStatus.INTERNAL_SERVER_ERROR, {"code": -1000, "msg": "Simulated failure."}
        step_ms = TIMEFRAME_SECONDS[interval] * 1000
        limit = max(1, min(int(query.get("limit", "500")), KLINES_LIMIT))
        listed = _ms(self.config.listed.get(pair, DEFAULT_LISTED))
        start = max(int(query.get("startTime", "0")), listed)
        end = self.config.current_ms()
        if "endTime" in query:
            end = min(end, int(query["endTime"]))
        if pair in self.config.delisted:
            end = min(end, _ms(self.config.delisted[pair]) - 1)
        rows = synthetic_ohlcv(pair, interval, start, limit)
        gaps = [(_ms(a), _ms(b)) for a, b in self.config.gaps.get(pair, [])]
        candles = []
        for row in rows:
            opened = int(row[0])
            if opened > end:
                break
            if any(a <= opened < b for a, b in gaps):
                continue
            candles.append(_kline(row, step_ms))
        return HTTPStatus.OK, candles

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {key: values[-1] for key, values in parse_qs(url.query).items()}
                if url.path == "/api/v3/exchangeInfo":
                    simulator.count("exchangeInfo")
                    self.answer(HTTPStatus.OK, simulator.exchange_info())
                elif url.path == "/api/v3/klines":
                    simulator.count("klines")
                    if simulator.config.hang_seconds:
                        time.sleep(simulator.config.hang_seconds)
                    self.answer(*simulator.klines(query))
                elif url.path in ("/api/v3/ping", "/api/v3/time"):
                    server_time = {"serverTime": simulator.config.current_ms()}
                    self.answer(HTTPStatus.OK, server_time if url.path.endswith("time") else {})
                elif url.path == "/_gentrade/requests":
                    self.answer(HTTPStatus.OK, dict(simulator.requests))
                else:
                    self.answer(HTTPStatus.NOT_FOUND, {"code": -1, "msg": f"not simulated: {url.path}"})

            def answer(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header(*SYNTHETIC_HEADER)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("exchange-sim: " + format, *args)

        return Handler
