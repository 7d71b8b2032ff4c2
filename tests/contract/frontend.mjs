// The frontend's server side (tokezooo/gentrade-front), rebuilt from its libraries at its locked versions.
//
// Why our own code and not the frontend's: we only need what reaches the backend and how the answers
// are read, so each piece below uses the same npm library the same way, and nothing else:
//   - REST: an axios instance per request, as shared/services/common/instance.ts makes it;
//   - the agent: RemoteRunnable.streamEvents -> LangChainAdapterCustom.toDataStreamResponse, as
//     app/api/chat/route.ts does;
//   - the browser: useChat({streamProtocol: "data"}) from ai_dryamvlad/react hands each turn to
//     @ai-sdk/ui-utils' processChatStream + callChatApi (-> processDataProtocolResponse). ChatSession
//     calls exactly those with the arguments useChat passes, minus React, and keeps the messages the
//     way useChat's state does (the user message as handleSubmit builds it, then the streamed ones).
//   - the draft card: a zod schema with the frontend's rules (shared/services/types/strategy-draft.ts).

import { randomUUID } from "node:crypto";

import { callChatApi, generateId, processChatStream } from "@ai-sdk/ui-utils";
import { LangChainAdapterCustom, convertToCoreMessages } from "ai_dryamvlad";
import axios from "axios";
import { RemoteRunnable } from "langchain/runnables/remote";
import { z } from "zod";

export const DRAFT_TOOL = "StrategyDraftOutputTool";

/** The draft card's fields and rules: non-empty strings and a boolean, unknown keys stripped (zod's default). */
export const strategyDraftCard = z.object({
  name: z.string().min(1, "Strategy name is required"),
  description: z.string().min(1, "Strategy description is required"),
  indicators: z.string().min(1, "Indicators are required"),
  entry_signals: z.string().min(1, "Entry signals are required"),
  exit_signals: z.string().min(1, "Exit signals are required"),
  minimal_roi: z.string().min(1, "Minimal ROI is required"),
  stoploss: z.string().min(1, "Stoploss is required"),
  timeframe: z.string().min(1, "Timeframe is required"),
  can_short: z.boolean(),
});

/** What getInstance() returns: a fresh axios instance with the Clerk token, JSON, no other defaults. */
export function restClient(apiUrl, token) {
  return axios.create({
    baseURL: apiUrl,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
  });
}

/** The frontend's POST /api/chat handler, with the token and agent URL it would get from Clerk and its env. */
export async function chatRoute(request, { agentUrl, token, recorder }) {
  const { id, messages } = await request.json();
  const coreMessages = convertToCoreMessages(messages);
  const remoteChain = new RemoteRunnable({
    url: agentUrl,
    options: { timeout: 600000, headers: { Authorization: `Bearer ${token}`, ThreadId: id } },
  });
  const stream = remoteChain.streamEvents(
    { messages: coreMessages.slice(-1) },
    { version: "v2", configurable: { thread_id: id || "", checkpoint_ns: "", checkpoint_id: "" } },
  );
  // Observation only: each stream event is passed on unchanged (the assertions need on_tool_start's run_id).
  const observed = recorder
    ? stream.pipeThrough(new TransformStream({ transform(event, controller) { recorder.push(event); controller.enqueue(event); } }))
    : stream;
  return LangChainAdapterCustom.toDataStreamResponse(observed);
}

/**
 * One chat page: useChat's message state and its request cycle, without React.
 *
 * `threadId` is what the page passes as `body: {id: chat.thread_id}` ("new" until the chat is saved).
 * `send()` returns this turn's stream events (as the route handler saw them) and the raw data stream.
 */
export class ChatSession {
  constructor({ agentUrl, token, threadId, initialMessages = [] }) {
    this.agentUrl = agentUrl;
    this.token = token;
    this.threadId = threadId;
    this.messages = initialMessages;
  }

  async send(input) {
    const events = [];
    let wire = "";
    let wireDone = Promise.resolve();
    // handleSubmit's user message
    const chatRequest = {
      messages: this.messages.concat({ id: generateId(), createdAt: new Date(), role: "user", content: input }),
      body: { id: this.threadId },
    };
    // The browser's fetch of /api/chat, answered by the route handler in this process. The body is teed
    // so the raw data stream can be reported; callChatApi reads the other branch.
    const fetchRoute = async (url, init) => {
      const response = await chatRoute(new Request(new URL(url, "http://frontend.local"), init), {
        agentUrl: this.agentUrl,
        token: this.token,
        recorder: events,
      });
      const [forClient, forReport] = response.body.tee();
      wireDone = (async () => {
        const decoder = new TextDecoder();
        try {
          for await (const bytes of forReport) wire += decoder.decode(bytes, { stream: true });
        } catch {
          // the client's branch reports the error; this one keeps what arrived before it
        }
      })();
      return new Response(forClient, { status: response.status, headers: response.headers });
    };
    // What useChat's getStreamedResponse does with sendExtraMessageFields unset.
    const payload = chatRequest.messages.map(
      ({ role, content, experimental_attachments, name, data, annotations, toolInvocations, function_call, tool_calls, tool_call_id }) => ({
        role,
        content,
        ...(experimental_attachments !== undefined && { experimental_attachments }),
        ...(name !== undefined && { name }),
        ...(data !== undefined && { data }),
        ...(annotations !== undefined && { annotations }),
        ...(toolInvocations !== undefined && { toolInvocations }),
        tool_call_id,
        ...(function_call !== undefined && { function_call }),
        ...(tool_calls !== undefined && { tool_calls }),
      }),
    );
    let current = chatRequest.messages;
    this.messages = current;
    const abortController = new AbortController();
    await processChatStream({
      getStreamedResponse: () =>
        callChatApi({
          api: "/api/chat",
          body: { messages: payload, data: undefined, ...chatRequest.body },
          streamProtocol: "data",
          credentials: undefined,
          headers: {},
          abortController: () => abortController,
          restoreMessagesOnFailure: () => { current = chatRequest.messages.slice(0, -1); },
          onResponse: undefined,
          onUpdate(merged) { current = [...chatRequest.messages, ...merged]; },
          onToolCall: undefined,
          onFinish: undefined,
          generateId,
          fetch: fetchRoute,
        }),
      experimental_onFunctionCall: undefined,
      experimental_onToolCall: undefined,
      updateChatRequest: () => {},
      getCurrentMessages: () => current,
    })
      .catch(async (error) => {
        await wireDone;
        error.events = events; // what the route handler had seen when the stream broke
        error.wire = wire;
        throw error;
      })
      .finally(() => { this.messages = current; });
    await wireDone;
    return { events, wire };
  }
}

/** chat.tsx's generateUUID() makes a random version-4 UUID; node's is one too. */
export function newThreadId() {
  return randomUUID();
}

/**
 * useStrategyDraftUpdate: put a (saved or edited) card back into the message that showed it.
 * The message is found by tool call id; every StrategyDraftOutputTool result in it gets the new JSON.
 */
export function withCardUpdated(messages, updatedCard, fallbackToolCallId) {
  const toolCallId = updatedCard.tool_call_id || fallbackToolCallId;
  const index = messages.findIndex((message) =>
    message.toolInvocations?.some((tool) => tool.toolName === DRAFT_TOOL && tool.toolCallId === toolCallId),
  );
  if (index === -1) return null;
  const updated = [...messages];
  updated[index] = {
    ...updated[index],
    toolInvocations: updated[index].toolInvocations.map((tool) =>
      tool.toolName === DRAFT_TOOL ? { ...tool, result: JSON.stringify(updatedCard) } : tool,
    ),
  };
  return updated;
}

/** The date picker's default range, formatted as strategy.tsx does ("yyyyMMdd-yyyyMMdd"), in UTC dates. */
export function defaultBacktestRange(now = new Date()) {
  const day = (date) => date.toISOString().slice(0, 10).replaceAll("-", "");
  return `${day(new Date(now.getTime() - 7 * 86400000))}-${day(now)}`;
}

export { convertToCoreMessages };
