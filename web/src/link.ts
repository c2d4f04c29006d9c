// The connection to tasklive: urql for queries and mutations over HTTP, graphql-ws for
// subscriptions, and the connection's state for the indicator (connected, reconnecting,
// offline), with exponential backoff and jitter between attempts.
import { createClient as createWSClient, type Client as WSClient } from "graphql-ws";
import { Client, fetchExchange, subscriptionExchange } from "urql";

import { currentToken, type Session } from "./auth";

export type LinkStatus = "connecting" | "connected" | "reconnecting" | "offline";

export interface LinkState {
  status: LinkStatus;
  /** The reconnection attempt under way (1 for the first after a drop). */
  attempt: number;
  /** Why the link gave up, when it did. */
  reason?: string;
}

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;
const OFFLINE_AFTER_ATTEMPTS = 8; // still retrying, but the user should know
const CLOSE_TOKEN_REFUSED = 4403;

/** "Equal jitter": half the exponential delay, plus up to as much again at random. */
export function backoffDelay(retries: number): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** retries);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function closeCode(event: unknown): number | null {
  const code = (event as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : null;
}

export function graphqlWsUrl(): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/graphql`;
}

export class Link {
  readonly ws: WSClient;
  readonly client: Client;
  private state: LinkState = { status: "connecting", attempt: 0 };
  private hasConnected = false;
  private tokenRefused = false;
  private readonly listeners = new Set<() => void>();
  private readonly reconnectListeners = new Set<() => void>();

  constructor(private readonly session: Session) {
    this.ws = createWSClient({
      url: graphqlWsUrl(),
      lazy: false, // one socket for the page's lifetime, so the indicator means something
      keepAlive: 10_000, // a ping every 10 s finds a dead socket that never said goodbye
      retryAttempts: Infinity,
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoffDelay(retries))),
      // 4403: the token was refused or expired. A demo token is renewed from /dev/tokens on
      // the next attempt (connectionParams runs on every attempt); a pasted one cannot be.
      shouldRetry: (event) => {
        this.tokenRefused = closeCode(event) === CLOSE_TOKEN_REFUSED;
        return !this.tokenRefused || this.session.source === "demo";
      },
      connectionParams: async () => ({
        authorization: `Bearer ${await currentToken(this.session, this.tokenRefused)}`,
      }),
      onNonLazyError: (error) => {
        const code = closeCode(error);
        const reason =
          code === CLOSE_TOKEN_REFUSED ? "the server refused the token" : `closed (${code ?? "error"})`;
        this.set({ status: "offline", attempt: this.state.attempt, reason });
      },
      on: {
        connecting: (isRetry) => {
          if (!isRetry) this.set({ status: "connecting", attempt: 0 });
        },
        connected: () => {
          const reconnected = this.hasConnected;
          this.hasConnected = true;
          this.set({ status: "connected", attempt: 0 });
          if (reconnected) for (const listener of this.reconnectListeners) listener();
        },
        closed: () => {
          const attempt = this.state.attempt + 1;
          const away = attempt > OFFLINE_AFTER_ATTEMPTS || !navigator.onLine;
          this.set({ status: away ? "offline" : "reconnecting", attempt });
        },
      },
    });

    this.client = new Client({
      url: "/graphql",
      preferGetMethod: false,
      fetch: async (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set("authorization", `Bearer ${await currentToken(this.session)}`);
        // Only queries and mutations come here (subscriptions go over the WebSocket). urql's
        // default Accept also lists text/event-stream, which makes the server answer in SSE
        // (CRLF-separated) that urql's parser does not split: ask for JSON only.
        headers.set("accept", "application/graphql-response+json, application/json");
        return fetch(input, { ...init, headers });
      },
      exchanges: [
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => {
            const payload = { ...request, query: request.query ?? "" };
            return {
              subscribe: (sink) => ({ unsubscribe: this.ws.subscribe(payload, sink) }),
            };
          },
        }),
      ],
    });
  }

  /** For useSyncExternalStore. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): LinkState => this.state;

  /** Called after every reconnection (not the first connection): time to resume. */
  onReconnected(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  dispose(): void {
    void this.ws.dispose();
  }

  private set(state: LinkState): void {
    this.state = state;
    for (const listener of this.listeners) listener();
  }
}
