/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment TaskFields on Task {\n    id\n    title\n    status\n    version\n    createdAt\n    assignee {\n      id\n      name\n    }\n  }\n": typeof types.TaskFieldsFragmentDoc,
    "\n  query MyProjects {\n    me {\n      id\n      name\n    }\n    projects {\n      id\n      name\n    }\n  }\n": typeof types.MyProjectsDocument,
    "\n  query BoardCursor($projectId: ID!) {\n    project(id: $projectId) {\n      id\n      lastEventCursor\n    }\n  }\n": typeof types.BoardCursorDocument,
    "\n  query BoardTasks($projectId: ID!, $after: String) {\n    project(id: $projectId) {\n      id\n      name\n      members {\n        role\n        user {\n          id\n          name\n        }\n      }\n      tasks(first: 100, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            ...TaskFields\n          }\n        }\n      }\n    }\n  }\n": typeof types.BoardTasksDocument,
    "\n  subscription BoardEvents($projectId: ID!, $after: String) {\n    taskEvents(projectId: $projectId, after: $after) {\n      __typename\n      cursor\n      taskId\n      ... on TaskCreatedEvent {\n        task {\n          ...TaskFields\n        }\n        createdBy {\n          id\n          name\n        }\n      }\n      ... on TaskUpdatedEvent {\n        task {\n          ...TaskFields\n        }\n        changedFields\n        updatedBy {\n          id\n          name\n        }\n      }\n      ... on TaskDeletedEvent {\n        deletedTask: task {\n          id\n          title\n        }\n        deletedBy {\n          id\n          name\n        }\n      }\n    }\n  }\n": typeof types.BoardEventsDocument,
    "\n  subscription BoardViewers($projectId: ID!) {\n    viewersChanged(projectId: $projectId) {\n      viewers {\n        id\n        name\n      }\n    }\n  }\n": typeof types.BoardViewersDocument,
    "\n  subscription TaskViewers($taskId: ID!) {\n    viewersChanged(taskId: $taskId) {\n      viewers {\n        id\n        name\n      }\n    }\n  }\n": typeof types.TaskViewersDocument,
    "\n  subscription FollowTask($taskId: ID!) {\n    taskUpdated(taskId: $taskId) {\n      cursor\n    }\n  }\n": typeof types.FollowTaskDocument,
    "\n  mutation CreateTask($input: CreateTaskInput!) {\n    createTask(input: $input) {\n      ...TaskFields\n    }\n  }\n": typeof types.CreateTaskDocument,
    "\n  mutation MoveTask($id: ID!, $status: TaskStatus!, $expectedVersion: Int) {\n    updateTaskStatus(id: $id, status: $status, expectedVersion: $expectedVersion) {\n      ...TaskFields\n    }\n  }\n": typeof types.MoveTaskDocument,
    "\n  mutation RenameTask($id: ID!, $title: String!, $expectedVersion: Int) {\n    updateTask(id: $id, input: { title: $title }, expectedVersion: $expectedVersion) {\n      ...TaskFields\n    }\n  }\n": typeof types.RenameTaskDocument,
    "\n  mutation DeleteTask($id: ID!) {\n    deleteTask(id: $id)\n  }\n": typeof types.DeleteTaskDocument,
    "\n  mutation CreateProject($name: String!) {\n    createProject(name: $name) {\n      id\n      name\n    }\n  }\n": typeof types.CreateProjectDocument,
};
const documents: Documents = {
    "\n  fragment TaskFields on Task {\n    id\n    title\n    status\n    version\n    createdAt\n    assignee {\n      id\n      name\n    }\n  }\n": types.TaskFieldsFragmentDoc,
    "\n  query MyProjects {\n    me {\n      id\n      name\n    }\n    projects {\n      id\n      name\n    }\n  }\n": types.MyProjectsDocument,
    "\n  query BoardCursor($projectId: ID!) {\n    project(id: $projectId) {\n      id\n      lastEventCursor\n    }\n  }\n": types.BoardCursorDocument,
    "\n  query BoardTasks($projectId: ID!, $after: String) {\n    project(id: $projectId) {\n      id\n      name\n      members {\n        role\n        user {\n          id\n          name\n        }\n      }\n      tasks(first: 100, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            ...TaskFields\n          }\n        }\n      }\n    }\n  }\n": types.BoardTasksDocument,
    "\n  subscription BoardEvents($projectId: ID!, $after: String) {\n    taskEvents(projectId: $projectId, after: $after) {\n      __typename\n      cursor\n      taskId\n      ... on TaskCreatedEvent {\n        task {\n          ...TaskFields\n        }\n        createdBy {\n          id\n          name\n        }\n      }\n      ... on TaskUpdatedEvent {\n        task {\n          ...TaskFields\n        }\n        changedFields\n        updatedBy {\n          id\n          name\n        }\n      }\n      ... on TaskDeletedEvent {\n        deletedTask: task {\n          id\n          title\n        }\n        deletedBy {\n          id\n          name\n        }\n      }\n    }\n  }\n": types.BoardEventsDocument,
    "\n  subscription BoardViewers($projectId: ID!) {\n    viewersChanged(projectId: $projectId) {\n      viewers {\n        id\n        name\n      }\n    }\n  }\n": types.BoardViewersDocument,
    "\n  subscription TaskViewers($taskId: ID!) {\n    viewersChanged(taskId: $taskId) {\n      viewers {\n        id\n        name\n      }\n    }\n  }\n": types.TaskViewersDocument,
    "\n  subscription FollowTask($taskId: ID!) {\n    taskUpdated(taskId: $taskId) {\n      cursor\n    }\n  }\n": types.FollowTaskDocument,
    "\n  mutation CreateTask($input: CreateTaskInput!) {\n    createTask(input: $input) {\n      ...TaskFields\n    }\n  }\n": types.CreateTaskDocument,
    "\n  mutation MoveTask($id: ID!, $status: TaskStatus!, $expectedVersion: Int) {\n    updateTaskStatus(id: $id, status: $status, expectedVersion: $expectedVersion) {\n      ...TaskFields\n    }\n  }\n": types.MoveTaskDocument,
    "\n  mutation RenameTask($id: ID!, $title: String!, $expectedVersion: Int) {\n    updateTask(id: $id, input: { title: $title }, expectedVersion: $expectedVersion) {\n      ...TaskFields\n    }\n  }\n": types.RenameTaskDocument,
    "\n  mutation DeleteTask($id: ID!) {\n    deleteTask(id: $id)\n  }\n": types.DeleteTaskDocument,
    "\n  mutation CreateProject($name: String!) {\n    createProject(name: $name) {\n      id\n      name\n    }\n  }\n": types.CreateProjectDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TaskFields on Task {\n    id\n    title\n    status\n    version\n    createdAt\n    assignee {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  fragment TaskFields on Task {\n    id\n    title\n    status\n    version\n    createdAt\n    assignee {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyProjects {\n    me {\n      id\n      name\n    }\n    projects {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  query MyProjects {\n    me {\n      id\n      name\n    }\n    projects {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query BoardCursor($projectId: ID!) {\n    project(id: $projectId) {\n      id\n      lastEventCursor\n    }\n  }\n"): (typeof documents)["\n  query BoardCursor($projectId: ID!) {\n    project(id: $projectId) {\n      id\n      lastEventCursor\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query BoardTasks($projectId: ID!, $after: String) {\n    project(id: $projectId) {\n      id\n      name\n      members {\n        role\n        user {\n          id\n          name\n        }\n      }\n      tasks(first: 100, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            ...TaskFields\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query BoardTasks($projectId: ID!, $after: String) {\n    project(id: $projectId) {\n      id\n      name\n      members {\n        role\n        user {\n          id\n          name\n        }\n      }\n      tasks(first: 100, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            ...TaskFields\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription BoardEvents($projectId: ID!, $after: String) {\n    taskEvents(projectId: $projectId, after: $after) {\n      __typename\n      cursor\n      taskId\n      ... on TaskCreatedEvent {\n        task {\n          ...TaskFields\n        }\n        createdBy {\n          id\n          name\n        }\n      }\n      ... on TaskUpdatedEvent {\n        task {\n          ...TaskFields\n        }\n        changedFields\n        updatedBy {\n          id\n          name\n        }\n      }\n      ... on TaskDeletedEvent {\n        deletedTask: task {\n          id\n          title\n        }\n        deletedBy {\n          id\n          name\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription BoardEvents($projectId: ID!, $after: String) {\n    taskEvents(projectId: $projectId, after: $after) {\n      __typename\n      cursor\n      taskId\n      ... on TaskCreatedEvent {\n        task {\n          ...TaskFields\n        }\n        createdBy {\n          id\n          name\n        }\n      }\n      ... on TaskUpdatedEvent {\n        task {\n          ...TaskFields\n        }\n        changedFields\n        updatedBy {\n          id\n          name\n        }\n      }\n      ... on TaskDeletedEvent {\n        deletedTask: task {\n          id\n          title\n        }\n        deletedBy {\n          id\n          name\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription BoardViewers($projectId: ID!) {\n    viewersChanged(projectId: $projectId) {\n      viewers {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription BoardViewers($projectId: ID!) {\n    viewersChanged(projectId: $projectId) {\n      viewers {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TaskViewers($taskId: ID!) {\n    viewersChanged(taskId: $taskId) {\n      viewers {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription TaskViewers($taskId: ID!) {\n    viewersChanged(taskId: $taskId) {\n      viewers {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription FollowTask($taskId: ID!) {\n    taskUpdated(taskId: $taskId) {\n      cursor\n    }\n  }\n"): (typeof documents)["\n  subscription FollowTask($taskId: ID!) {\n    taskUpdated(taskId: $taskId) {\n      cursor\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateTask($input: CreateTaskInput!) {\n    createTask(input: $input) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateTask($input: CreateTaskInput!) {\n    createTask(input: $input) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MoveTask($id: ID!, $status: TaskStatus!, $expectedVersion: Int) {\n    updateTaskStatus(id: $id, status: $status, expectedVersion: $expectedVersion) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation MoveTask($id: ID!, $status: TaskStatus!, $expectedVersion: Int) {\n    updateTaskStatus(id: $id, status: $status, expectedVersion: $expectedVersion) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RenameTask($id: ID!, $title: String!, $expectedVersion: Int) {\n    updateTask(id: $id, input: { title: $title }, expectedVersion: $expectedVersion) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation RenameTask($id: ID!, $title: String!, $expectedVersion: Int) {\n    updateTask(id: $id, input: { title: $title }, expectedVersion: $expectedVersion) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteTask($id: ID!) {\n    deleteTask(id: $id)\n  }\n"): (typeof documents)["\n  mutation DeleteTask($id: ID!) {\n    deleteTask(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateProject($name: String!) {\n    createProject(name: $name) {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation CreateProject($name: String!) {\n    createProject(name: $name) {\n      id\n      name\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;