// Replays one ordinary web session against the RUNNING backend, through the frontend's own libraries
// (see frontend.mjs), and prints a JSON report of each step. Exit 0 when every step held; otherwise
// exit 1 and say on stderr which step failed and why.
//
// Environment: GENTRADE_API_URL (http://HOST:PORT/api/v1), AGENT_URL (http://HOST:PORT/chat),
// TOKEN_USER_1, TOKEN_USER_2 (Clerk session tokens of two different users),
// BACKTEST_TIMEOUT_S (default 180).
//
//   node tests/contract/session.mjs   (after `make contract-deps`, which `make test` runs)

import { isDeepStrictEqual } from "node:util";

import {
  ChatSession,
  DRAFT_TOOL,
  convertToCoreMessages,
  defaultBacktestRange,
  newThreadId,
  restClient,
  strategyDraftCard,
  withCardUpdated,
} from "./frontend.mjs";

const FIRST_MESSAGE =
  "Buy BTC/USDT and ETH/USDT when RSI(14) drops under 30 on the 1h chart, sell above 70, 5% stop loss";
const SECOND_MESSAGE = "make it the 4h chart";
const OTHER_USER_MESSAGE =
  "Buy SOL/USDT when EMA(9) crosses above EMA(21) on the 15m chart, sell when it crosses below, 3% stop loss";
// Pieces of the agent's internal structured output (router decision, StrategyDraft) that must never be streamed.
const INTERNAL_JSON = [/\{\s*"/, /"route"\s*:/, /"entry_conditions"/, /"exit_conditions"/, /"indicators"\s*:\s*\[/];

// Our own strategy names get a per-run suffix, so a rerun against a long-lived server cannot clash (409).
const RUN = Date.now().toString(36).toUpperCase();

class StepFailed extends Error {}
class SessionStopped extends Error {}

function check(condition, message) {
  if (!condition) throw new StepFailed(message);
}

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (!value) {
    console.error(`contract: set ${name}`);
    process.exit(2);
  }
  return value;
}

const config = {
  apiUrl: env("GENTRADE_API_URL"),
  agentUrl: env("AGENT_URL"),
  tokens: [env("TOKEN_USER_1"), env("TOKEN_USER_2")],
  backtestTimeoutMs: Number(env("BACKTEST_TIMEOUT_S", "180")) * 1000,
};

const short = (value, limit = 600) => {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text === undefined ? String(value) : text.length > limit ? `${text.slice(0, limit)}…` : text;
};

/** axios as the services use it, with failures turned into one readable line (method, path, status, body). */
function rest(token) {
  const client = restClient(config.apiUrl, token);
  const call = async (method, path, body) => {
    try {
      // as the services call it: axiosInstance.get(path), .post(path, body), .patch(path, body), .delete(path)
      const response = await (body === undefined ? client[method](path) : client[method](path, body));
      return { status: response.status, data: response.data };
    } catch (error) {
      if (error.response) {
        const failure = new StepFailed(
          `${method.toUpperCase()} ${path} answered ${error.response.status}: ${short(error.response.data)}`,
        );
        failure.status = error.response.status;
        failure.data = error.response.data;
        throw failure;
      }
      throw new StepFailed(`${method.toUpperCase()} ${path} failed: ${error.code ?? ""} ${error.message}`);
    }
  };
  return {
    get: (path) => call("get", path),
    post: (path, body) => call("post", path, body),
    patch: (path, body) => call("patch", path, body),
    delete: (path) => call("delete", path),
    /** The status of a call that must fail; fails the step when it succeeds. */
    async refused(method, path, body) {
      try {
        const { status, data } = await call(method, path, body);
        throw new StepFailed(`${method.toUpperCase()} ${path} should have been refused, answered ${status}: ${short(data)}`);
      } catch (error) {
        if (error.status === undefined) throw error;
        return { status: error.status, data: error.data };
      }
    },
  };
}

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const json = (value) => JSON.parse(JSON.stringify(value)); // what went over the wire

/** The sidebar's lists: arrays it can .map, with the fields it reads. */
async function sidebar(api) {
  const chats = await api.get("/chats");
  check(Array.isArray(chats.data), `GET /chats is not an array (the sidebar calls .map on it): ${short(chats.data)}`);
  for (const chat of chats.data) {
    check(isObject(chat) && chat.id !== undefined && typeof chat.thread_id === "string" && "title" in chat,
      `GET /chats item lacks id/thread_id/title: ${short(chat)}`);
  }
  const strategies = await api.get("/strategies");
  check(Array.isArray(strategies.data), `GET /strategies is not an array (the sidebar calls .map on it): ${short(strategies.data)}`);
  for (const strategy of strategies.data) {
    check(isObject(strategy) && strategy.id !== undefined && typeof strategy.name === "string",
      `GET /strategies item lacks id/name: ${short(strategy)}`);
  }
  return { chats: chats.data, strategies: strategies.data };
}

/** One agent turn; checks the assistant message the UI renders and returns its draft card. */
async function draftTurn(chat, message) {
  const before = chat.messages.length;
  let turn;
  try {
    turn = await chat.send(message);
  } catch (error) {
    const seen = (error.events ?? []).map((event) => `${event.event}:${event.name}`);
    throw new StepFailed(`the agent turn failed in the frontend's stream: ${error.message}; ` +
      `stream events received: ${short(seen)}; data stream so far: ${short(error.wire ?? "")}`);
  }
  const added = chat.messages.slice(before);
  check(added.length === 2 && added[0].role === "user" && added[1].role === "assistant",
    `expected the user message and one assistant message, got ${short(added.map((m) => m.role))}; ` +
      `data stream: ${short(turn.wire)}`);
  const assistant = added[1];
  check(typeof assistant.content === "string" && assistant.content.trim() !== "",
    `the streamed text is empty (no on_chat_model_stream chunk with content); data stream: ${short(turn.wire)}`);
  for (const pattern of INTERNAL_JSON) {
    check(!pattern.test(assistant.content), `internal JSON (${pattern}) leaked into the streamed text: ${short(assistant.content)}`);
  }
  const starts = turn.events.filter((event) => event.event === "on_tool_start" && event.name === DRAFT_TOOL);
  check(starts.length === 1, `expected one on_tool_start named ${DRAFT_TOOL}, got ${starts.length}; ` +
    `events: ${short(turn.events.map((e) => `${e.event}:${e.name}`))}`);
  const invocations = assistant.toolInvocations ?? [];
  check(invocations.length === 1 && invocations[0].toolName === DRAFT_TOOL,
    `expected exactly one ${DRAFT_TOOL} invocation, got ${short(invocations)}`);
  const [tool] = invocations;
  check(tool.state === "result", `the tool invocation has state ${tool.state}, not "result" (no on_tool_end?)`);
  check(tool.toolCallId === starts[0].run_id, `toolCallId ${tool.toolCallId} is not on_tool_start's run_id ${starts[0].run_id}`);
  check(isObject(tool.args), `the tool call's args (on_tool_start data.input) is not an object: ${short(tool.args)}`);
  check(typeof tool.result === "string", `the tool result (on_tool_end data.output.content) is not a string: ${short(tool.result)}`);
  let card;
  try {
    card = JSON.parse(tool.result);
  } catch {
    throw new StepFailed(`the tool result is not JSON (the card calls JSON.parse on it): ${short(tool.result)}`);
  }
  const parsed = strategyDraftCard.safeParse(card);
  check(parsed.success, `the draft card does not pass the card's rules: ${short(parsed.error?.issues)}; card: ${short(card)}`);
  check(!assistant.content.includes(tool.result), "the card JSON was streamed as text");
  return { assistant, tool, card, wire: turn.wire, events: turn.events };
}

/** What a card reads in the fields that say what it trades on, lower-cased. */
const cardWords = (card) =>
  [card.name, card.description, card.indicators, card.entry_signals, card.exit_signals].join(" ").toLowerCase();

function findNumbers(node, found = []) {
  if (typeof node === "number") found.push(node);
  else if (Array.isArray(node)) node.forEach((item) => findNumbers(item, found));
  else if (isObject(node)) Object.values(node).forEach((item) => findNumbers(item, found));
  return found;
}

async function main(steps) {
  const state = {};
  const [api1, api2] = config.tokens.map(rest);
  const step = async (name, run) => {
    const started = Date.now();
    try {
      const detail = await run();
      steps.push({ step: name, ok: true, seconds: (Date.now() - started) / 1000, ...(detail && { detail }) });
    } catch (error) {
      const message = error instanceof StepFailed ? error.message : `harness error: ${error.stack}`;
      steps.push({ step: name, ok: false, seconds: (Date.now() - started) / 1000, error: message });
      throw new SessionStopped(`step "${name}" failed: ${message}`);
    }
  };

  await step("1 sidebar lists", async () => {
    const lists = await sidebar(api1);
    state.before = lists;
    return { chats: lists.chats.length, strategies: lists.strategies.length };
  });

  const chat = new ChatSession({ agentUrl: config.agentUrl, token: config.tokens[0], threadId: "new" });
  await step("2 first message of a new chat (thread \"new\")", async () => {
    state.turn1 = await draftTurn(chat, FIRST_MESSAGE);
    return { text: short(state.turn1.assistant.content, 200), card: state.turn1.card };
  });

  await step("3 save the chat (POST /chats with the client's UUID)", async () => {
    chat.threadId = newThreadId();
    state.title = chat.messages[0].content; // chat.title || messages[0].content
    const saved = await api1.post("/chats", { thread_id: chat.threadId, messages: [...chat.messages], title: state.title });
    check(isObject(saved.data), `POST /chats answered ${short(saved.data)}`);
    check(saved.data.thread_id === chat.threadId, `POST /chats answered thread_id ${saved.data.thread_id}, not the client's ${chat.threadId}`);
    check(saved.data.id !== undefined && saved.data.id !== null, `POST /chats answered no id: ${short(saved.data)}`);
    state.chatId = saved.data.id;
    const again = await api1.post("/chats", { thread_id: chat.threadId, messages: [...chat.messages], title: state.title });
    const listed = (await sidebar(api1)).chats.filter((item) => item.thread_id === chat.threadId);
    check(listed.length === 1, `after posting the chat twice GET /chats lists it ${listed.length} times`);
    check(listed[0].title === state.title, `GET /chats shows the title ${short(listed[0].title)}, not ${short(state.title)}`);
    return { thread_id: chat.threadId, id: state.chatId, repeated_post: again.status, repeated_id: again.data?.id };
  });

  await step("4 reopen the chat (GET /chats/{thread_id})", async () => {
    const { data } = await api1.get(`/chats/${chat.threadId}`);
    check(isDeepStrictEqual(data.messages, json(chat.messages)),
      `GET /chats/${chat.threadId} did not return the messages as saved: ${short(data.messages, 1500)}`);
    check(data.id === state.chatId && data.thread_id === chat.threadId, `the chat's id/thread_id changed: ${short({ id: data.id, thread_id: data.thread_id })}`);
    let core;
    try {
      core = convertToCoreMessages(data.messages);
    } catch (error) {
      throw new StepFailed(`convertToCoreMessages (getChat) throws on the stored messages: ${error.message}`);
    }
    const toolMessage = core.find((message) => message.role === "tool");
    check(toolMessage?.content?.[0]?.result === state.turn1.tool.result,
      "the reopened chat has no tool message carrying the card (the page would show no draft card)");
    const missing = await api1.refused("get", `/chats/${newThreadId()}`);
    check(missing.status === 404, `GET /chats/<unknown uuid> answered ${missing.status}, not 404 (getChat redirects only on 404)`);
    return { core_roles: core.map((message) => message.role) };
  });

  await step("5 second turn in the saved chat (UUID thread, newest message only)", async () => {
    state.turn2 = await draftTurn(chat, SECOND_MESSAGE);
    const [first, second] = [state.turn1.card, state.turn2.card];
    check(second.timeframe === "4h", `the revised card's timeframe is ${short(second.timeframe)}, not "4h"`);
    const carried = ["indicators", "entry_signals", "exit_signals", "stoploss", "can_short"];
    const changed = carried.filter((key) => !isDeepStrictEqual(first[key], second[key]));
    check(changed.length === 0,
      `the revised card lost turn 1's draft (the agent did not see the conversation started under "new"): ` +
        `${short(Object.fromEntries(changed.map((key) => [key, { turn1: first[key], turn2: second[key] }])))}`);
    check(state.turn2.tool.toolCallId !== state.turn1.tool.toolCallId, "turn 2's tool call id repeats turn 1's");
    state.title = chat.messages[0].content;
    await api1.patch("/chats", { id: state.chatId, thread_id: chat.threadId, messages: [...chat.messages], title: state.title });
    const { data } = await api1.get(`/chats/${chat.threadId}`);
    check(isDeepStrictEqual(data.messages, json(chat.messages)), `after PATCH /chats the stored messages differ: ${short(data.messages, 1500)}`);
    return { card: second, messages: chat.messages.length };
  });

  await step("6 save the draft card (POST /strategies, then PATCH /chats with strategy_id)", async () => {
    const { card, tool } = state.turn2;
    const body = { ...card, tool_call_id: tool.toolCallId, chat_id: state.chatId };
    const created = await api1.post("/strategies", body);
    check(created.status === 201, `POST /strategies answered ${created.status}, not 201`);
    check(created.data?.id !== undefined && created.data.id !== null, `POST /strategies answered no id: ${short(created.data)}`);
    state.strategyId = created.data.id;
    const updated = withCardUpdated(chat.messages, { ...body, strategy_id: state.strategyId });
    check(updated !== null, "harness: the card's message was not found");
    chat.messages = updated;
    await api1.patch("/chats", { id: state.chatId, thread_id: chat.threadId, messages: chat.messages, title: state.title });
    const reopened = (await api1.get(`/chats/${chat.threadId}`)).data;
    const stored = reopened.messages.flatMap((m) => m.toolInvocations ?? []).find((t) => t.toolCallId === tool.toolCallId);
    check(stored && JSON.parse(stored.result).strategy_id === state.strategyId, "the chat did not keep the card's strategy_id");
    const listed = (await sidebar(api1)).strategies;
    check(listed.some((strategy) => strategy.id === state.strategyId),
      `GET /strategies does not list ${state.strategyId} (the card's View button compares ids with ===)`);

    // The edited path: Edit (the form's zod resolver keeps only the card fields), PATCH, then Save.
    const original = JSON.parse(chat.messages[1].toolInvocations[0].result);
    check(/\b30\b/.test(original.entry_signals), `turn 1's entry_signals do not mention 30: ${short(original.entry_signals)}`);
    const edited = strategyDraftCard.parse({
      ...original,
      tool_call_id: state.turn1.tool.toolCallId,
      name: `RsiDeepDipEdited${RUN}`,
      stoploss: "-8%",
      entry_signals: original.entry_signals.replace(/\b30\b/, "25"),
    });
    chat.messages = withCardUpdated(chat.messages, edited, state.turn1.tool.toolCallId);
    await api1.patch("/chats", { id: state.chatId, thread_id: chat.threadId, messages: chat.messages, title: state.title });
    const editedBody = { ...edited, tool_call_id: state.turn1.tool.toolCallId, chat_id: state.chatId };
    const editedSave = await api1.post("/strategies", editedBody);
    check(editedSave.status === 201, `POST /strategies (edited card) answered ${editedSave.status}, not 201`);
    state.editedId = editedSave.data.id;
    chat.messages = withCardUpdated(chat.messages, { ...editedBody, strategy_id: state.editedId });
    await api1.patch("/chats", { id: state.chatId, thread_id: chat.threadId, messages: chat.messages, title: state.title });
    const { data: editedStrategy } = await api1.get(`/strategies/${state.editedId}`);
    check(editedStrategy.name === `RsiDeepDipEdited${RUN}`, `the edited strategy is named ${short(editedStrategy.name)}`);
    check(editedStrategy.draft?.stoploss === -0.08, `the edited stoploss "-8%" became ${short(editedStrategy.draft?.stoploss)}, not -0.08`);
    // The edit form kept only the card's fields (pairs are not one): the pairs come from turn 1's draft.
    check(isDeepStrictEqual(editedStrategy.draft?.pairs, ["BTC/USDT", "ETH/USDT"]) && editedStrategy.draft?.timeframe === "1h",
      `the edited strategy lost what the edit did not touch: pairs ${short(editedStrategy.draft?.pairs)}, ` +
        `timeframe ${short(editedStrategy.draft?.timeframe)} (expected BTC/USDT, ETH/USDT on 1h)`);
    const entryNumbers = findNumbers(editedStrategy.draft?.entry_conditions);
    check(entryNumbers.includes(25) && !entryNumbers.includes(30),
      `the edited entry threshold 25 is not in the draft's entry conditions: ${short(editedStrategy.draft?.entry_conditions)}`);

    const unreadable = await api1.refused("post", "/strategies", {
      ...edited, name: `RsiBananaStop${RUN}`, stoploss: "banana", tool_call_id: state.turn1.tool.toolCallId, chat_id: state.chatId,
    });
    check(unreadable.status === 422 && JSON.stringify(unreadable.data).includes("stoploss"),
      `an unreadable stoploss answered ${unreadable.status}: ${short(unreadable.data)} (expected 422 naming stoploss)`);
    return {
      strategy_id: state.strategyId,
      edited_strategy: { id: state.editedId, pairs: editedStrategy.draft?.pairs, timeframe: editedStrategy.draft?.timeframe },
      unreadable: short(unreadable.data, 300),
    };
  });

  await step("6b the same saves from the page that created the chat (no id, then id 0 and title null)", async () => {
    // In the page view that made the chat, chat.id is undefined (turn saves omit it) and the Save
    // handler sends `chat.id ?? 0` with `chat.title`, which is still null: the thread id must be enough.
    await api1.patch("/chats", { thread_id: chat.threadId, messages: [...chat.messages], title: state.title });
    await api1.patch("/chats", { id: 0, thread_id: chat.threadId, messages: chat.messages, title: null });
    const { data } = await api1.get(`/chats/${chat.threadId}`);
    check(isDeepStrictEqual(data.messages, json(chat.messages)), "PATCH /chats with id 0 did not store the messages");
    check(data.id === state.chatId, `PATCH /chats with id 0 changed the chat's id to ${short(data.id)}`);
    await api1.patch("/chats", { id: state.chatId, thread_id: chat.threadId, messages: chat.messages, title: state.title });
    return { title_after_patch_with_null_title: data.title };
  });

  await step("7 strategy page (GET /strategies/{id})", async () => {
    const { data } = await api1.get(`/strategies/${state.strategyId}`);
    check(data.id === state.strategyId, `GET /strategies/${state.strategyId} answered id ${short(data.id)}`);
    check(data.name === state.turn2.card.name, `the strategy is named ${short(data.name)}, the card ${short(state.turn2.card.name)}`);
    check(typeof data.draft?.description === "string" && data.draft.description.trim() !== "",
      `the strategy page shows draft.description, which is ${short(data.draft?.description)}`);
    return { name: data.name, description: data.draft.description };
  });

  await step("8 run a backtest (date_range, last 7 days) and wait for it", async () => {
    const dateRange = defaultBacktestRange();
    const created = await api1.post("/backtests", { strategy_id: state.strategyId, date_range: dateRange });
    const id = created.data?.id;
    check(id !== undefined && id !== null, `POST /backtests answered no id: ${short(created.data)}`);
    const { data: list } = await api1.get(`/backtests?strategy_id=${state.strategyId}`);
    check(Array.isArray(list), `GET /backtests?strategy_id= is not an array: ${short(list)}`);
    const item = list.find((backtest) => backtest.id === id);
    check(item, `GET /backtests?strategy_id= does not list backtest ${id}`);
    for (const key of ["id", "strategy_id", "start_date", "end_date", "status"]) {
      check(item[key] !== undefined, `the backtest list item has no ${key}: ${short(item)}`);
    }
    check(list.every((backtest) => backtest.strategy_id === state.strategyId), "GET /backtests?strategy_id= lists another strategy's backtest");
    const deadline = Date.now() + config.backtestTimeoutMs;
    let backtest;
    for (;;) {
      backtest = (await api1.get(`/backtests/${id}`)).data;
      if (["finished", "failed", "cancelled"].includes(backtest.status)) break;
      check(Date.now() < deadline, `backtest ${id} still ${backtest.status} after ${config.backtestTimeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    check(backtest.status === "finished", `backtest ${id} ended ${backtest.status}: ${short(backtest.error)}`);
    check(isObject(backtest.summary) && Object.keys(backtest.summary).length > 0, `the finished backtest has no summary: ${short(backtest)}`);
    return { date_range: dateRange, id, start_date: item.start_date, end_date: item.end_date, trades: backtest.summary.total_trades };
  });

  await step("U2 another user's turn on this chat is refused", async () => {
    const intruder = new ChatSession({ agentUrl: config.agentUrl, token: config.tokens[1], threadId: chat.threadId });
    let failure;
    try {
      await intruder.send("show me the strategy in this chat");
    } catch (error) {
      failure = error;
    }
    check(failure, "a turn with another user's token on this chat's thread id was answered");
    check(/\b403\b/.test(failure.message), `the refusal does not mention 403: ${short(failure.message)}`);
    const read = await api2.refused("get", `/chats/${chat.threadId}`);
    check(read.status === 403 || read.status === 404, `GET /chats/{thread_id} of another user answered ${read.status}`);
    return { error: short(failure.message, 200), rest_status: read.status };
  });

  await step("U2 another user's new chat sees nothing of user 1", async () => {
    await sidebar(api2);
    const other = new ChatSession({ agentUrl: config.agentUrl, token: config.tokens[1], threadId: "new" });
    const turn = await draftTurn(other, OTHER_USER_MESSAGE);
    const words = cardWords(turn.card);
    check(!/\brsi\b/.test(words) && !/\bbtc\b|\beth\b/.test(`${words} ${turn.assistant.content.toLowerCase()}`),
      `user 2's draft carries user 1's "new" turn: ${short(turn.card)}`);
    check(/\bema\b/.test(words), `user 2's draft does not reflect its own message (no EMA): ${short(turn.card)}`);
    other.threadId = newThreadId();
    const saved = await api2.post("/chats", { thread_id: other.threadId, messages: [...other.messages], title: other.messages[0].content });
    const { data } = await api2.get(`/chats/${other.threadId}`);
    check(isDeepStrictEqual(data.messages, json(other.messages)), "user 2's chat was not stored as sent");
    check(!/\brsi\b/i.test(JSON.stringify(data.messages)), "user 2's stored chat mentions RSI");
    const strategy = await api2.post("/strategies", { ...turn.card, tool_call_id: turn.tool.toolCallId, chat_id: saved.data.id });
    const stolen = await api2.refused("post", "/strategies", {
      ...state.turn1.card, name: `StolenDraftCard${RUN}`, tool_call_id: state.turn1.tool.toolCallId, chat_id: state.chatId,
    });
    check([403, 404, 422].includes(stolen.status), `user 2 saving user 1's card answered ${stolen.status}`);
    state.user2 = { threadId: other.threadId, strategyId: strategy.data.id };
    return { card: turn.card, stolen_card: stolen.status };
  });

  await step("U1 lists hold only user 1's items", async () => {
    const lists = await sidebar(api1);
    check(!lists.chats.some((item) => item.thread_id === state.user2.threadId), "user 1's GET /chats lists user 2's chat");
    check(!lists.strategies.some((item) => item.id === state.user2.strategyId), "user 1's GET /strategies lists user 2's strategy");
    check(lists.chats.some((item) => item.thread_id === chat.threadId), "user 1's chat is missing from GET /chats");
    const theirs = await sidebar(api2);
    check(!theirs.chats.some((item) => item.thread_id === chat.threadId), "user 2's GET /chats lists user 1's chat");
    check(!theirs.strategies.some((item) => [state.strategyId, state.editedId].includes(item.id)), "user 2's GET /strategies lists user 1's strategy");
    const peek = await api2.refused("get", `/strategies/${state.strategyId}`);
    check([403, 404].includes(peek.status), `user 2 reading user 1's strategy answered ${peek.status}`);
    return { chats: lists.chats.length, strategies: lists.strategies.length };
  });

  await step("9 sidebar deletes (DELETE /strategies/{id}, DELETE /chats/{thread_id})", async () => {
    for (const id of [state.strategyId, state.editedId]) {
      const { status } = await api1.delete(`/strategies/${id}`);
      check(status >= 200 && status < 300, `DELETE /strategies/${id} answered ${status}`);
    }
    const { status } = await api1.delete(`/chats/${chat.threadId}`);
    check(status >= 200 && status < 300, `DELETE /chats/${chat.threadId} answered ${status}`);
    const lists = await sidebar(api1);
    check(!lists.chats.some((item) => item.thread_id === chat.threadId), "the deleted chat is still listed");
    check(!lists.strategies.some((item) => [state.strategyId, state.editedId].includes(item.id)), "a deleted strategy is still listed");
    const gone = await api1.refused("get", `/chats/${chat.threadId}`);
    check(gone.status === 404, `GET of the deleted chat answered ${gone.status}, not 404`);
    await api2.delete(`/strategies/${state.user2.strategyId}`);
    await api2.delete(`/chats/${state.user2.threadId}`);
    return { chats: lists.chats.length, strategies: lists.strategies.length };
  });

}

const steps = [];
try {
  await main(steps);
  console.log(JSON.stringify({ ok: true, steps }, null, 2));
} catch (error) {
  if (!(error instanceof SessionStopped)) throw error;
  console.log(JSON.stringify({ ok: false, steps }, null, 2));
  console.error(`contract: ${error.message}`);
  process.exitCode = 1;
}
