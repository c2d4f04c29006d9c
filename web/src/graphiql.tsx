// GraphiQL with its assets in this build, so it works with no internet. Queries and
// mutations go over HTTP; subscriptions over graphql-ws, whose connection parameters are
// the Headers pane (`{"Authorization": "Bearer …"}`), which the server accepts.
import { createGraphiQLFetcher, type Fetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { parse, type DocumentNode } from "graphql";
import { createRoot } from "react-dom/client";

import { loadSession } from "./auth";
import { graphqlWsUrl } from "./link";

const toServer = createGraphiQLFetcher({
  url: `${location.origin}/graphql`,
  subscriptionUrl: graphqlWsUrl(),
});

function parsed(query: string): DocumentNode | undefined {
  try {
    return parse(query);
  } catch {
    return undefined; // the server reports the syntax error
  }
}

// The toolkit picks the WebSocket only when it is handed the parsed document, which GraphiQL
// updates a moment after an edit: a query run at once would go over HTTP. Parse it here.
const fetcher: Fetcher = (params, options) =>
  toServer(params, { ...options, documentAST: parsed(params.query) ?? options?.documentAST });

// Opened from the board, in the same tab: it starts with the board's sign-in.
const session = loadSession();
const headers = session ? JSON.stringify({ Authorization: `Bearer ${session.token}` }, null, 2) : undefined;

const query = `# Sign in: put {"Authorization": "Bearer <token>"} in the Headers pane below
# (\`tasklive demo\` prints tokens). Then try a subscription and change a task elsewhere:
#
# subscription { taskEvents(projectId: "<id>") { __typename cursor ... on TaskUpdatedEvent { task { title status } } } }

query {
  me { id name }
  projects { id name tasks(first: 10) { edges { node { id title status version } } } }
}
`;

createRoot(document.getElementById("graphiql")!).render(
  <GraphiQL
    fetcher={fetcher}
    defaultQuery={query}
    defaultHeaders={headers}
    defaultEditorToolsVisibility={headers ? "headers" : true}
    isHeadersEditorEnabled
  />,
);
