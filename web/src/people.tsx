// Avatars (presence) and the connection indicator.
import { useSyncExternalStore } from "react";

import type { Link } from "./link";

export interface Person {
  id: string;
  name: string | null;
}

export function initials(person: Person): string {
  const words = (person.name ?? person.id).trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[1][0] : (words[0] ?? "?").slice(0, 2);
  return letters.toUpperCase();
}

function hue(id: string): number {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) % 360;
  return hash;
}

export function Avatars({ people, label }: { people: Person[]; label: string }) {
  return (
    <ul className="avatars" aria-label={label}>
      {people.map((person) => (
        <li
          key={person.id}
          title={person.name ?? person.id}
          style={{ background: `hsl(${hue(person.id)} 55% 42%)` }}
        >
          {initials(person)}
        </li>
      ))}
    </ul>
  );
}

export function ConnectionIndicator({ link, onSignIn }: { link: Link; onSignIn: () => void }) {
  const state = useSyncExternalStore(link.subscribe, link.getState);
  const text =
    state.status === "reconnecting"
      ? `reconnecting (attempt ${state.attempt})`
      : state.status === "offline"
        ? `offline${state.reason ? `: ${state.reason}` : ""}`
        : state.status;
  return (
    <span className="connection">
      <span id="connection" className={`link ${state.status}`} data-status={state.status} role="status">
        {text}
      </span>
      {state.reason && (
        <button type="button" onClick={onSignIn}>
          Sign in again
        </button>
      )}
    </span>
  );
}
