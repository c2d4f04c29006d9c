// Every operation the board runs; `npm run codegen` types them from ../schema.graphql.
import { graphql } from "./gql";

export const TaskFields = graphql(`
  fragment TaskFields on Task {
    id
    title
    status
    version
    createdAt
    assignee {
      id
      name
    }
  }
`);

export const MyProjects = graphql(`
  query MyProjects {
    me {
      id
      name
    }
    projects {
      id
      name
    }
  }
`);

// Read before the tasks are loaded: the subscription then starts after it, so a change made
// while the board loads is replayed instead of lost.
export const BoardCursor = graphql(`
  query BoardCursor($projectId: ID!) {
    project(id: $projectId) {
      id
      lastEventCursor
    }
  }
`);

export const BoardTasks = graphql(`
  query BoardTasks($projectId: ID!, $after: String) {
    project(id: $projectId) {
      id
      name
      members {
        role
        user {
          id
          name
        }
      }
      tasks(first: 100, after: $after) {
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            ...TaskFields
          }
        }
      }
    }
  }
`);

// The project's room: every created, updated and deleted task, resumable with `after`.
export const BoardEvents = graphql(`
  subscription BoardEvents($projectId: ID!, $after: String) {
    taskEvents(projectId: $projectId, after: $after) {
      __typename
      cursor
      taskId
      ... on TaskCreatedEvent {
        task {
          ...TaskFields
        }
        createdBy {
          id
          name
        }
      }
      ... on TaskUpdatedEvent {
        task {
          ...TaskFields
        }
        changedFields
        updatedBy {
          id
          name
        }
      }
      ... on TaskDeletedEvent {
        deletedTask: task {
          id
          title
        }
        deletedBy {
          id
          name
        }
      }
    }
  }
`);

export const BoardViewers = graphql(`
  subscription BoardViewers($projectId: ID!) {
    viewersChanged(projectId: $projectId) {
      viewers {
        id
        name
      }
    }
  }
`);

export const TaskViewers = graphql(`
  subscription TaskViewers($taskId: ID!) {
    viewersChanged(taskId: $taskId) {
      viewers {
        id
        name
      }
    }
  }
`);

// Having a task open is being in its room: this subscription is what puts the user there.
export const FollowTask = graphql(`
  subscription FollowTask($taskId: ID!) {
    taskUpdated(taskId: $taskId) {
      cursor
    }
  }
`);

export const CreateTask = graphql(`
  mutation CreateTask($input: CreateTaskInput!) {
    createTask(input: $input) {
      ...TaskFields
    }
  }
`);

export const MoveTask = graphql(`
  mutation MoveTask($id: ID!, $status: TaskStatus!, $expectedVersion: Int) {
    updateTaskStatus(id: $id, status: $status, expectedVersion: $expectedVersion) {
      ...TaskFields
    }
  }
`);

export const RenameTask = graphql(`
  mutation RenameTask($id: ID!, $title: String!, $expectedVersion: Int) {
    updateTask(id: $id, input: { title: $title }, expectedVersion: $expectedVersion) {
      ...TaskFields
    }
  }
`);

export const DeleteTask = graphql(`
  mutation DeleteTask($id: ID!) {
    deleteTask(id: $id)
  }
`);

export const CreateProject = graphql(`
  mutation CreateProject($name: String!) {
    createProject(name: $name) {
      id
      name
    }
  }
`);
