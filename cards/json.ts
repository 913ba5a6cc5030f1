/** Plain JSON, as card payloads are built and sent. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** An Adaptive Card 1.5 payload, ready for an attachment's `content`. */
export interface AdaptiveCardJson extends JsonObject {
  type: 'AdaptiveCard';
  version: '1.5';
  body: JsonObject[];
}
