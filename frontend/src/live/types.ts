// The live websocket protocol (contract.md "Live websocket"). The backend's OpenAPI
// schema does not describe websocket messages, so they are typed here and read
// defensively: unknown fields are ignored, missing ones shown as "—".
export interface ProductMetrics {
  product_id: number;
  clicks: number;
  add_to_cart: number;
  orders: number;
  units_sold: number;
  gmv: string;
  stock_left: number | null;
}

export interface Metrics {
  online: number;
  viewers: number;
  comments: number;
  likes: number;
  shares: number;
  follows: number;
  product_clicks: number;
  add_to_cart: number;
  orders: number;
  paid_orders: number;
  units_sold: number;
  gmv: string;
  products: ProductMetrics[];
  [extra: string]: unknown;
}

/** A discrete event: per-stream `seq`, gap-free and increasing within an `epoch`
 * (a new epoch means the server's counter restarted); `id` (outbox events) is unique. */
export interface LiveEvent {
  type: string;
  seq: number;
  epoch?: string;
  id?: number;
  ts?: string;
  data: Record<string, unknown>;
}

export type LiveMessage =
  | ({ type: "snapshot"; seq: number; epoch?: string; resumed?: boolean } & Record<string, unknown>)
  | { type: "metrics"; ts?: string; metrics: Metrics }
  | LiveEvent;

export type LiveStatus = "connecting" | "open" | "reconnecting" | "denied";
