// The live task board: sign in, pick a project, watch it change.
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { createRoot } from "react-dom/client";
import { Provider, useMutation, useQuery } from "urql";

import {
  claimsOf,
  clearSession,
  fetchDemoUsers,
  loadSession,
  saveSession,
  type DemoUser,
  type Session,
} from "./auth";
import { Board, BoardViewersBar } from "./board-view";
import { Link } from "./link";
import { CreateProject, MyProjects } from "./operations";
import { ConnectionIndicator } from "./people";
import "./style.css";

function App() {
  const [session, setSession] = useState(loadSession);
  if (!session) {
    return (
      <SignIn
        onSignedIn={(s) => {
          saveSession(s);
          setSession(s);
        }}
      />
    );
  }
  const signOut = () => {
    clearSession();
    setSession(null);
  };
  return <SignedIn key={session.token} session={session} onSignOut={signOut} />;
}

function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [demo, setDemo] = useState<DemoUser[] | null | undefined>(undefined);
  const [pasted, setPasted] = useState("");
  const [error, setError] = useState("");
  useEffect(() => {
    fetchDemoUsers().then(setDemo, () => setDemo(null));
  }, []);
  const usePasted = (event: FormEvent) => {
    event.preventDefault();
    const token = pasted.trim().replace(/^bearer\s+/i, "");
    if (!claimsOf(token)) return setError("That is not a JWT (three dot-separated parts).");
    onSignedIn({ token, source: "pasted" });
  };
  return (
    <main className="signin">
      <h1>tasklive board</h1>
      <section aria-label="Demo users">
        <h2>Sign in as a demo user</h2>
        {demo === undefined && <p>Loading…</p>}
        {demo === null && <p>This server has no demo sign-in (it is off in production): paste a token.</p>}
        {demo && (
          <>
            <ul className="demo-users">
              {demo.map((user) => (
                <li key={user.id}>
                  <button type="button" onClick={() => onSignedIn({ token: user.token, source: "demo" })}>
                    {user.name} <small>{user.role}</small>
                  </button>
                </li>
              ))}
            </ul>
            <p className="hint">
              They are members of the project that <code>tasklive demo</code> creates. Each tab
              keeps its own sign-in: open another tab as someone else.
            </p>
          </>
        )}
      </section>
      <form onSubmit={usePasted}>
        <h2>Or paste a token</h2>
        <textarea
          aria-label="Token"
          rows={4}
          placeholder="eyJ… (tasklive token --sub you --name You)"
          value={pasted}
          onChange={(e) => setPasted(e.target.value)}
        />
        <button type="submit">Sign in with this token</button>
        {error && <p className="error">{error}</p>}
      </form>
    </main>
  );
}

function SignedIn({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const link = useMemo(() => new Link(session), [session]);
  useEffect(() => () => link.dispose(), [link]);
  return (
    <Provider value={link.client}>
      <Shell link={link} onSignOut={onSignOut} />
    </Provider>
  );
}

function projectFromHash(): string | null {
  return new URLSearchParams(location.hash.slice(1)).get("project");
}

function Shell({ link, onSignOut }: { link: Link; onSignOut: () => void }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: MyProjects });
  const [chosen, setChosen] = useState(projectFromHash);
  const projects = data?.projects ?? [];
  const project = projects.find((p) => p.id === chosen) ?? projects[0];
  const choose = (id: string) => {
    history.replaceState(null, "", `#project=${id}`);
    setChosen(id);
  };
  return (
    <div className="app">
      <header>
        <strong className="brand">tasklive</strong>
        {projects.length > 1 ? (
          <select aria-label="Project" value={project?.id} onChange={(e) => choose(e.target.value)}>
            {projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        ) : (
          <span className="project-name">{project?.name}</span>
        )}
        {project && <BoardViewersBar projectId={project.id} />}
        <span className="spacer" />
        <ConnectionIndicator link={link} onSignIn={onSignOut} />
        <span className="me">{data?.me.name ?? data?.me.id}</span>
        <a href="/graphql" title="GraphiQL, signed in as this tab's user">
          GraphiQL
        </a>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {error && <p className="error">Cannot reach the server: {error.message}</p>}
      {!fetching && data && !project && <NoProject onCreated={() => refetch({ requestPolicy: "network-only" })} />}
      {project && data && <Board key={project.id} link={link} projectId={project.id} meId={data.me.id} />}
    </div>
  );
}

function NoProject({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const [result, create] = useMutation(CreateProject);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if ((await create({ name: name.trim() })).data) onCreated();
  };
  return (
    <form className="no-project" onSubmit={submit}>
      <p>
        You are in no project yet. Run <code>tasklive demo</code> and sign in as a demo user, or
        create one:
      </p>
      <input aria-label="Project name" value={name} onChange={(e) => setName(e.target.value)} />
      <button type="submit" disabled={!name.trim()}>
        Create project
      </button>
      {result.error && <p className="error">{result.error.message}</p>}
    </form>
  );
}

createRoot(document.getElementById("root")!).render(<App />);
