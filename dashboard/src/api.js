// The dashboard's only way to the record: the public pairing.v1 API over gRPC-Web. The schema
// comes from the server's own descriptor set, so the page never carries a copy that can drift.
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const TOKEN_KEY = "pairing-aid-token";

export function savedToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function saveToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class Api {
  static async connect(baseUrl) {
    const response = await fetch(new URL("descriptors.binpb", document.baseURI));
    if (!response.ok) throw new Error(`the API's descriptors: HTTP ${response.status}`);
    const set = fromBinary(FileDescriptorSetSchema, new Uint8Array(await response.arrayBuffer()));
    return new Api(baseUrl, createFileRegistry(set));
  }

  constructor(baseUrl, registry) {
    this.registry = registry;
    const bearer = (next) => async (request) => {
      const token = savedToken();
      if (token) request.header.set("authorization", `Bearer ${token}`);
      return next(request);
    };
    this.transport = createGrpcWebTransport({ baseUrl, useBinaryFormat: true, interceptors: [bearer] });
    this.clients = new Map();
  }

  /** The client of `pairing.v1.{service}`, e.g. `api.service("AnalyticsService")`. */
  service(name) {
    if (!this.clients.has(name)) {
      const desc = this.registry.getService(`pairing.v1.${name}`);
      if (!desc) throw new Error(`the server does not describe pairing.v1.${name}`);
      this.clients.set(name, createClient(desc, this.transport));
    }
    return this.clients.get(name);
  }

  /** Every item of a paged List call, following next_page_token. */
  async listAll(service, method, request, field) {
    const items = [];
    let pageToken = "";
    do {
      const page = await this.service(service)[method]({ ...request, pageSize: 1000, pageToken });
      items.push(...page[field]);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return items;
  }

  enumType(fullName) {
    const desc = this.registry.getEnum(fullName);
    if (!desc) throw new Error(`the server does not describe ${fullName}`);
    return desc;
  }

  /** The number of `VALUE` (with or without the enum's prefix) in enum `fullName`, or undefined. */
  enumNumber(fullName, value) {
    const wanted = String(value).toUpperCase();
    return this.enumType(fullName).values.find((v) => v.name === wanted || this.#short(v) === wanted)?.number;
  }

  enumName(fullName, number) {
    return this.enumType(fullName).values.find((v) => v.number === number)?.name ?? String(number);
  }

  /** An enum value without its prefix: FUNDING_DIMENSION_FIELD -> FIELD. */
  enumShort(fullName, number) {
    const value = this.enumType(fullName).values.find((v) => v.number === number);
    return value ? this.#short(value) : String(number);
  }

  /** The values of an enum other than its zero "unspecified" one. */
  enumValues(fullName) {
    return this.enumType(fullName).values.filter((v) => v.number !== 0).map((v) => ({ number: v.number, name: v.name, short: this.#short(v) }));
  }

  #short(value) {
    const prefix = (value.parent.sharedPrefix ?? "").toUpperCase();
    return value.name.startsWith(prefix) ? value.name.slice(prefix.length) : value.name;
  }

  /** What went wrong, in words: the status, its message and each field the server named. */
  explain(error) {
    if (!(error instanceof ConnectError)) return String(error?.message ?? error);
    // gRPC's own spelling of the code (INVALID_ARGUMENT), as grpcurl and the logs print it.
    const code = Code[error.code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
    const parts = [`${code}: ${error.rawMessage}`];
    const badRequest = this.registry.getMessage("google.rpc.BadRequest");
    if (badRequest) {
      for (const detail of error.findDetails(badRequest)) {
        for (const v of detail.fieldViolations) {
          const said = `${v.field}: ${v.description}`;
          if (!error.rawMessage.includes(said)) parts.push(said);
        }
      }
    }
    if (error.code === Code.Unauthenticated || error.code === Code.PermissionDenied) {
      parts.push("enter a token above if the server requires one for reads");
    }
    return parts.join(" — ");
  }
}
